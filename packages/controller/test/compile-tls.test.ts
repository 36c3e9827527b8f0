// Unit tests for TLS resolution in the compiler: certificate checks, names, the default certificate, options, ticket keys.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CIPHER_PROFILES, type DynamicConfig, type StaticConfig, type TlsConfig } from '@berth/config';
import { hashBody } from '@berth/protocol';
import { type CompileOptions, compile } from '../src/compiler/compile.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import type { ProviderPart } from '../src/provider/provider-part.js';
import { makeCert, type TestCert } from './support/test-certs.js';

const DAY = 24 * 3600 * 1000;
const statics: StaticConfig = { entryPoints: { websecure: { address: ':443' } } };
const lb = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } };

function part(tls: TlsConfig | undefined, routerTls = true, sourceKey = '/etc/berth/tls.yml'): ProviderPart {
  const config: DynamicConfig = {
    http: {
      routers: {
        r: routerTls ? { rule: 'Host(`a`)', service: 's', tls: {} } : { rule: 'Host(`a`)', service: 's' },
      },
      services: { s: lb },
    },
  };
  if (tls !== undefined) config.tls = tls;
  return { sourceKey, config, errors: [] };
}

describe('compile: TLS resolution', () => {
  let generated: TestCert;
  let good: TestCert;
  let cnOnly: TestCert;
  let expired: TestCert;
  let future: TestCert;
  let material: CompileOptions;
  const ticket = Buffer.alloc(48, 7).toString('base64');

  before(async () => {
    generated = await makeCert({ cn: 'BERTH DEFAULT CERT' });
    good = await makeCert({ dns: ['WWW.Example.TEST', '*.api.example.test'], cn: 'ignored' });
    cnOnly = await makeCert({ cn: 'Legacy.Example.Test' });
    expired = await makeCert({
      dns: ['old.test'],
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    future = await makeCert({
      dns: ['soon.test'],
      notBefore: new Date(Date.now() + DAY),
      notAfter: new Date(Date.now() + 10 * DAY),
    });
    material = { tls: { generatedDefault: generated, sessionTicketKeys: [ticket] } };
  });

  it('carries no tls section when nothing uses TLS, so plain configurations hash as before', () => {
    const plain = compile([part(undefined, false)], statics);
    const withMaterial = compile([part(undefined, false)], statics, material);
    assert.equal(withMaterial.body.tls, undefined);
    assert.equal(hashBody(plain.body), hashBody(withMaterial.body));
    assert.deepEqual(withMaterial.certificates, []);
  });

  it('resolves valid certificates with their names (DNS SANs lower-cased, else the CN)', () => {
    const result = compile(
      [
        part({
          certificates: [
            { certFile: good.certPem, keyFile: good.keyPem },
            { certFile: cnOnly.certPem, keyFile: cnOnly.keyPem, stores: ['default', 'other'] },
          ],
        }),
      ],
      statics,
      material,
    );
    assert.deepEqual(result.errors, []);
    const tls = result.body.tls!;
    assert.deepEqual(
      tls.certificates.map((c) => c.names),
      [['www.example.test', '*.api.example.test'], ['legacy.example.test']],
    );
    assert.deepEqual(tls.certificates[1]?.stores, ['default', 'other']);
    assert.equal(tls.certificates[0]?.origin, 'file');
    assert.equal(tls.certificates[0]?.keyPem, good.keyPem);
    assert.ok(Date.parse(tls.certificates[0]!.notAfter) > Date.now());
    assert.equal(tls.defaultCertificate.origin, 'default');
    assert.equal(tls.defaultCertificate.certPem, generated.certPem);
    assert.deepEqual(tls.sessionTicketKeys, [ticket]);
    assert.deepEqual(
      result.certificates.map((c) => [c.origin, c.isDefault, c.status]),
      [
        ['file', false, 'enabled'],
        ['file', false, 'enabled'],
        ['default', true, 'enabled'],
      ],
    );
  });

  it('leaves out an expired, a not yet valid, a mismatched and an unparsable certificate, each with its own error', () => {
    const result = compile(
      [
        part({
          certificates: [
            { certFile: expired.certPem, keyFile: expired.keyPem },
            { certFile: good.certPem, keyFile: good.keyPem },
            { certFile: future.certPem, keyFile: future.keyPem },
            { certFile: good.certPem, keyFile: cnOnly.keyPem },
            {
              certFile: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n',
              keyFile: good.keyPem,
            },
            { certFile: good.certPem, keyFile: 'not a key' },
          ],
        }),
      ],
      statics,
      material,
    );
    assert.deepEqual(
      result.errors.map((e) => [e.code, e.path]),
      [
        [ErrorCodes.TLS_CERT_EXPIRED, 'tls.certificates.0'],
        [ErrorCodes.TLS_CERT_NOT_YET_VALID, 'tls.certificates.2'],
        [ErrorCodes.TLS_KEY_MISMATCH, 'tls.certificates.3'],
        [ErrorCodes.TLS_CERT_INVALID, 'tls.certificates.4'],
        [ErrorCodes.TLS_CERT_INVALID, 'tls.certificates.5'],
      ],
    );
    for (const e of result.errors) {
      assert.equal(e.source?.origin, '/etc/berth/tls.yml');
      assert.doesNotMatch(e.message, /PRIVATE KEY/);
    }
    assert.deepEqual(
      result.body.tls?.certificates.map((c) => c.names[0]),
      ['www.example.test'],
    );
    assert.equal(result.certificates.filter((c) => c.status === 'disabled').length, 5);
    // The router still serves, with the certificates that remain.
    assert.ok(result.body.http.routers['r@file']);
  });

  it('serves the configured default certificate, or the generated one when it is unusable', () => {
    const configured = compile(
      [
        part({
          stores: { default: { defaultCertificate: { certFile: good.certPem, keyFile: good.keyPem } } },
        }),
      ],
      statics,
      material,
    );
    assert.deepEqual(configured.errors, []);
    assert.equal(configured.body.tls?.defaultCertificate.certPem, good.certPem);
    assert.equal(configured.body.tls?.defaultCertificate.origin, 'file');

    const broken = compile(
      [
        part({
          stores: { default: { defaultCertificate: { certFile: expired.certPem, keyFile: expired.keyPem } } },
        }),
      ],
      statics,
      material,
    );
    assert.deepEqual(
      broken.errors.map((e) => [e.code, e.path]),
      [[ErrorCodes.TLS_CERT_EXPIRED, 'tls.stores.default.defaultCertificate']],
    );
    assert.equal(broken.body.tls?.defaultCertificate.certPem, generated.certPem);
    assert.equal(broken.body.tls?.defaultCertificate.origin, 'default');
  });

  it('publishes strict, compatible and default options, default following the static profile unless the user defines it', () => {
    const strictDefault = compile([part({})], statics, material);
    const options = strictDefault.body.tls!.options;
    assert.deepEqual(Object.keys(options).sort(), ['compatible', 'default', 'strict']);
    assert.deepEqual(options.default, CIPHER_PROFILES.strict);
    assert.deepEqual(options.compatible, CIPHER_PROFILES.compatible);

    const compatibleDefault = compile(
      [
        part({
          options: {
            mtls: { clientAuth: { caFiles: [good.certPem], clientAuthType: 'RequireAndVerifyClientCert' } },
          },
        }),
      ],
      { ...statics, tls: { defaultProfile: 'compatible' } },
      material,
    );
    assert.deepEqual(compatibleDefault.body.tls!.options.default, CIPHER_PROFILES.compatible);
    assert.deepEqual(compatibleDefault.body.tls!.options['mtls@file']?.clientAuth?.caFiles, [good.certPem]);

    const userDefault = compile(
      [part({ options: { default: { minVersion: 'VersionTLS13' } } })],
      { ...statics, tls: { defaultProfile: 'compatible' } },
      material,
    );
    assert.deepEqual(userDefault.body.tls!.options.default, { minVersion: 'VersionTLS13' });
  });

  it('treats any TLS use as a reason to carry the tls section: an entry point, a TCP router, certificates', () => {
    const viaEntryPoint = compile(
      [part(undefined, false)],
      { entryPoints: { websecure: { address: ':443', http: { tls: {} } } } },
      material,
    );
    assert.ok(viaEntryPoint.body.tls);
    const viaCertificates = compile(
      [part({ certificates: [{ certFile: good.certPem, keyFile: good.keyPem }] }, false)],
      statics,
      material,
    );
    assert.ok(viaCertificates.body.tls);
    const viaTcp = compile(
      [
        {
          sourceKey: '/t.yml',
          errors: [],
          config: {
            http: { routers: {}, services: {} },
            tcp: {
              routers: { t: { rule: 'HostSNI(`a`)', service: 't', tls: { passthrough: true } } },
              services: { t: { loadBalancer: { servers: [{ address: '127.0.0.1:1' }] } } },
            },
          },
        },
      ],
      statics,
      material,
    );
    assert.ok(viaTcp.body.tls);
  });

  it('gives the same hash whatever order the parts and certificates came in', () => {
    const a = part({ certificates: [{ certFile: good.certPem, keyFile: good.keyPem }] }, true, '/a.yml');
    const b = part({ certificates: [{ certFile: cnOnly.certPem, keyFile: cnOnly.keyPem }] }, true, '/b.yml');
    assert.equal(
      hashBody(compile([a, b], statics, material).body),
      hashBody(compile([b, a], statics, material).body),
    );
  });
});
