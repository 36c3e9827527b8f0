// `berth certs`: every certificate the controller serves or refused, with its names, expiry, origin and OCSP state.
import type { CertificateStatus } from '@berth/controller';
import { apiGet } from '../api-client.js';
import { table } from '../output.js';
import { apiOptions, targetFrom } from './api-options.js';
import { bool, type Command } from './command.js';

/** Table rows, one per certificate; pure so it is tested without a controller. */
export function certRows(certs: readonly CertificateStatus[]): string[][] {
  return certs.map((c) => [
    c.names.join(',') || '-',
    c.status,
    c.notAfter === '' ? '-' : c.notAfter.slice(0, 10),
    c.isDefault ? `${c.origin} (default)` : c.origin,
    c.stores.join(','),
    c.ocsp === undefined ? '-' : c.ocsp.status,
    c.source === undefined
      ? '-'
      : `${c.source.origin}${c.source.line === undefined ? '' : `:${c.source.line}`}`,
    c.errors.map((e) => e.code).join(',') || '-',
  ]);
}

export const CERT_HEADERS = ['NAMES', 'STATUS', 'NOT AFTER', 'ORIGIN', 'STORES', 'OCSP', 'SOURCE', 'ERRORS'];

export const certsCommand: Command = {
  name: 'certs',
  summary: 'list TLS certificates with their names, expiry, origin and OCSP status',
  options: apiOptions,
  async run(v) {
    const target = targetFrom(v, 'certs');
    const certs = await apiGet<CertificateStatus[]>(target, '/api/v1/certs');
    if (bool(v, 'json')) {
      process.stdout.write(`${JSON.stringify(certs, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`${table(CERT_HEADERS, certRows(certs))}\n`);
    return 0;
  },
};
