// A resolver's settings as the static file's parser gives them, for tests: HTTP-01 on `web`.
import type { AcmeResolverSettings } from '../../src/acme/resolver-settings.js';

export function resolverSettings(
  caServer: string,
  caFile: string,
  extra: Partial<AcmeResolverSettings> = {},
): AcmeResolverSettings {
  return {
    name: 'le',
    email: null,
    caServer,
    storage: 'acme.json',
    eab: null,
    keyType: 'EC256',
    challenge: { type: 'http-01', entryPoint: 'web' },
    renewBefore: { fraction: 1 / 3 },
    certificatesDurationHours: null,
    preferredChain: null,
    caCertificates: [caFile],
    caSystemCertPool: false,
    ...extra,
  };
}
