// Tests for reading the files `tls.*` and `tcp.serversTransports` name: relative paths, inline PEM, one bad file dropping one element.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DynamicConfig } from '@berth/config';
import { compile } from '../src/compiler/compile.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import { FILE_REFERENCE, resolveFileReferences } from '../src/provider/file-references.js';
import type { ProviderPart } from '../src/provider/provider-part.js';
import { makeCert, type TestCert } from './support/test-certs.js';

describe('file references: TLS', () => {
  let dir: string;
  let cert: TestCert;
  let other: TestCert;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-tlsref-'));
    cert = await makeCert({ dns: ['a.test'] });
    other = await makeCert({ dns: ['b.test'] });
    await writeFile(join(dir, 'a.pem'), cert.certPem);
    await writeFile(join(dir, 'a-key.pem'), cert.keyPem, { mode: 0o600 });
    await writeFile(join(dir, 'ca.pem'), other.certPem);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function part(config: Omit<DynamicConfig, 'http'>): ProviderPart {
    return {
      sourceKey: join(dir, 'dynamic.yml'),
      config: { http: { routers: {}, services: {} }, ...config },
      errors: [],
      sources: {
        routers: {},
        services: {},
        tlsCertificates: [
          { provider: 'file', origin: join(dir, 'dynamic.yml'), line: 3 },
          { provider: 'file', origin: join(dir, 'dynamic.yml'), line: 5 },
          { provider: 'file', origin: join(dir, 'dynamic.yml'), line: 7 },
        ],
      },
    };
  }

  it('reads certificates relative to the configuration file, keeps inline PEM, and drops only an unreadable one', async () => {
    const [out] = await resolveFileReferences([
      part({
        tls: {
          certificates: [
            { certFile: 'missing.pem', keyFile: 'a-key.pem' },
            { certFile: 'a.pem', keyFile: join(dir, 'a-key.pem'), stores: ['default'] },
            { certFile: other.certPem, keyFile: other.keyPem },
          ],
        },
      }),
    ]);
    assert.deepEqual(out?.config.tls?.certificates, [
      { certFile: cert.certPem, keyFile: cert.keyPem, stores: ['default'] },
      { certFile: other.certPem, keyFile: other.keyPem },
    ]);
    assert.deepEqual(
      out?.errors.map((e) => [e.code, e.path, e.source?.line]),
      [[ErrorCodes.TLS_CERT_READ, 'tls.certificates.0.certFile', 3]],
    );
    assert.match(out!.errors[0]!.message, /missing\.pem/);
    // Sources stay aligned with the certificates that remain.
    assert.deepEqual(
      out?.sources?.tlsCertificates?.map((s) => s.line),
      [5, 7],
    );
    const result = compile(
      [out!],
      { entryPoints: { websecure: { address: ':443' } } },
      {
        tls: { generatedDefault: other, sessionTicketKeys: [] },
      },
    );
    assert.deepEqual(
      result.body.tls?.certificates.map((c) => [c.names, c.source?.line]),
      [
        [['a.test'], 5],
        [['b.test'], 7],
      ],
    );
    assert.deepEqual(
      result.errors.map((e) => e.code),
      [ErrorCodes.TLS_CERT_READ],
    );
    // The unreadable certificate is in the certificate report too, disabled, with its error.
    assert.deepEqual(
      result.certificates.map((c) => [c.status, c.errors.map((e) => e.code), c.source?.line]),
      [
        ['disabled', [ErrorCodes.TLS_CERT_READ], 3],
        ['enabled', [], 5],
        ['enabled', [], 7],
        ['enabled', [], undefined],
      ],
    );
  });

  it('reads the default certificate and client CA files; an unreadable CA drops its options alone', async () => {
    const [out] = await resolveFileReferences([
      part({
        tls: {
          stores: { default: { defaultCertificate: { certFile: 'a.pem', keyFile: 'a-key.pem' } } },
          options: {
            mtls: {
              clientAuth: {
                caFiles: ['ca.pem', other.certPem],
                clientAuthType: 'RequireAndVerifyClientCert',
              },
            },
            broken: { clientAuth: { caFiles: ['nope.pem'] } },
            plain: { minVersion: 'VersionTLS12' },
          },
        },
      }),
    ]);
    assert.deepEqual(out?.config.tls?.stores?.default?.defaultCertificate, {
      certFile: cert.certPem,
      keyFile: cert.keyPem,
    });
    assert.deepEqual(out?.config.tls?.options?.mtls?.clientAuth?.caFiles, [other.certPem, other.certPem]);
    assert.deepEqual(Object.keys(out?.config.tls?.options ?? {}).sort(), ['mtls', 'plain']);
    assert.deepEqual(
      out?.errors.map((e) => [e.code, e.path]),
      [[FILE_REFERENCE, 'tls.options.broken.clientAuth.caFiles.0']],
    );
  });

  it('reads the TLS files of TCP servers transports', async () => {
    const [out] = await resolveFileReferences([
      part({
        tcp: {
          routers: {},
          services: {},
          serversTransports: {
            reencrypt: {
              tls: { rootCAs: ['ca.pem'], certificates: [{ certFile: 'a.pem', keyFile: 'a-key.pem' }] },
            },
            bad: { tls: { rootCAs: ['gone.pem'] } },
            plain: { dialTimeout: '5s' },
          },
        },
      }),
    ]);
    assert.deepEqual(out?.config.tcp?.serversTransports?.reencrypt?.tls, {
      rootCAs: [other.certPem],
      certificates: [{ certFile: cert.certPem, keyFile: cert.keyPem }],
    });
    assert.deepEqual(Object.keys(out?.config.tcp?.serversTransports ?? {}).sort(), ['plain', 'reencrypt']);
    assert.deepEqual(
      out?.errors.map((e) => [e.code, e.path]),
      [[FILE_REFERENCE, 'tcp.serversTransports.bad.tls.rootCAs.0']],
    );
  });
});
