// Between compiler and store: the certificates compiled routers ask for, and the result with ACME certificates, answers and problems added.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { ConfigError, StaticConfig } from '@berth/config';
import { AcmeErrorCodes } from '../src/acme/acme-errors.js';
import type { AcmeCertificateMaterial } from '../src/acme/acme-manager.js';
import { acmeRequests, routerSources, withAcme } from '../src/acme/acme-snapshot.js';
import type { AcmeResolverSettings } from '../src/acme/resolver-settings.js';
import { compile } from '../src/compiler/compile.js';
import type { CompileResult } from '../src/compiler/compile-result.js';
import type { ProviderPart } from '../src/provider/provider-part.js';
import { resolverSettings } from './support/acme-settings.js';
import { makeCert, type TestCert } from './support/test-certs.js';

const DAY = 24 * 3600 * 1000;
const FILE = '/etc/berth/dynamic.yml';
const statics: StaticConfig = { entryPoints: { web: { address: ':80' }, websecure: { address: ':443' } } };
const resolvers: ReadonlyMap<string, AcmeResolverSettings> = new Map([
  ['le', resolverSettings('https://ca.test/dir', '/dev/null')],
]);

function part(): ProviderPart {
  return {
    sourceKey: FILE,
    config: {
      http: {
        routers: {
          app: { rule: 'Host(`app.example.test`)', service: 's', tls: { certResolver: 'le' } },
          typo: { rule: 'Host(`typo.example.test`)', service: 's', tls: { certResolver: 'lets' } },
          plain: { rule: 'Host(`plain.example.test`)', service: 's' },
          // A file router's name may hold dots.
          'my.app': { rule: 'Host(`my.example.test`)', service: 's', tls: { certResolver: 'le' } },
          // Disabled (its service does not exist): asks for nothing.
          broken: { rule: 'Host(`broken.example.test`)', service: 'missing', tls: { certResolver: 'le' } },
        },
        services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } } },
      },
      tcp: {
        routers: {
          db: { rule: 'HostSNI(`db.example.test`)', service: 't', tls: { certResolver: 'le' } },
        },
        services: { t: { loadBalancer: { servers: [{ address: '127.0.0.1:9' }] } } },
      },
    },
    errors: [],
    sources: {
      routers: {
        app: { provider: 'file', origin: FILE, line: 4 },
        typo: { provider: 'file', origin: FILE, line: 8 },
        broken: { provider: 'file', origin: FILE, line: 12 },
      },
      services: {},
      tcpRouters: { db: { provider: 'file', origin: FILE, line: 20 } },
    },
  };
}

describe('ACME in the compiled snapshot', () => {
  let generated: TestCert;
  let acmeCert: TestCert;
  let compiled: CompileResult;

  before(async () => {
    generated = await makeCert({ cn: 'BERTH DEFAULT CERT' });
    acmeCert = await makeCert({ dns: ['app.example.test'], cn: 'app.example.test' });
    compiled = compile([part()], statics, {
      tls: { generatedDefault: generated, sessionTicketKeys: [Buffer.alloc(48, 7).toString('base64')] },
    });
  });

  const material = (c: TestCert, extra: Partial<AcmeCertificateMaterial> = {}): AcmeCertificateMaterial => ({
    resolver: 'le',
    domains: ['app.example.test'],
    routers: ['http.routers.app@file'],
    certPem: c.certPem,
    keyPem: c.keyPem,
    ...extra,
  });

  it('knows where each HTTP and TCP router was defined', () => {
    const sources = routerSources(compiled);
    assert.deepEqual(sources.get('http.routers.app@file'), { provider: 'file', origin: FILE, line: 4 });
    assert.deepEqual(sources.get('tcp.routers.db@file'), { provider: 'file', origin: FILE, line: 20 });
    assert.equal(sources.has('http.routers.plain@file'), false);
  });

  it('asks for one certificate per enabled router with a known resolver; an unknown one is a warning with its source', () => {
    const sources = routerSources(compiled);
    const { requests, errors } = acmeRequests(compiled, resolvers, sources);
    assert.deepEqual(requests, [
      { resolver: 'le', domains: ['app.example.test'], routers: ['http.routers.app@file'] },
      { resolver: 'le', domains: ['my.example.test'], routers: ['http.routers.my.app@file'] },
      { resolver: 'le', domains: ['db.example.test'], routers: ['tcp.routers.db@file'] },
    ]);
    assert.equal(errors.length, 1);
    const [e] = errors;
    assert.equal(e?.code, AcmeErrorCodes.RESOLVER_UNKNOWN);
    assert.equal(e?.path, 'http.routers.typo@file.tls.certResolver');
    assert.equal(e?.severity, 'warning');
    assert.deepEqual(e?.source, { provider: 'file', origin: FILE, line: 8 });
  });

  it('returns the very same result when there is nothing to add', () => {
    const same = withAcme(compiled, { certificates: [], challenges: undefined, errors: [], now: new Date() });
    assert.equal(same, compiled);
  });

  it('adds ACME certificates (origin acme, default store), answers and router problems without touching its input', () => {
    const before = structuredClone(compiled);
    const warning: ConfigError = {
      code: AcmeErrorCodes.RATE_LIMITED,
      path: 'http.routers.app@file.tls.certResolver',
      message: 'router "http.routers.app@file": rate limited',
      severity: 'warning',
    };
    const tcpWarning: ConfigError = { ...warning, path: 'tcp.routers.db@file.tls.certResolver' };
    const resolverWide: ConfigError = { ...warning, path: 'certificatesResolvers.le' };
    const challenges = { http01: [{ entryPoint: 'web', token: 't', keyAuthorization: 't.k' }] };
    const out = withAcme(compiled, {
      certificates: [material(acmeCert)],
      challenges,
      errors: [warning, tcpWarning, resolverWide],
      now: new Date(),
      ocsp: (fingerprint) =>
        fingerprint === '' ? undefined : { response: 'OCSP', state: { status: 'good' } },
    });
    assert.deepEqual(compiled, before, 'the compiler objects are shared by its caches: never mutated');
    assert.notEqual(out, compiled);

    const tls = out.body.tls;
    assert.ok(tls && compiled.body.tls);
    assert.equal(tls.certificates.length, compiled.body.tls.certificates.length + 1);
    const added = tls.certificates.at(-1);
    assert.equal(added?.origin, 'acme');
    assert.deepEqual(added?.stores, ['default']);
    assert.deepEqual(added?.names, ['app.example.test']);
    assert.equal(added?.certPem, acmeCert.certPem);
    assert.equal(added?.ocspResponse, 'OCSP');
    assert.deepEqual(added?.source, { provider: 'acme', origin: 'certificatesResolvers.le' });
    assert.deepEqual(out.body.acme, challenges);

    const status = out.certificates.at(-1);
    assert.equal(status?.origin, 'acme');
    assert.equal(status?.status, 'enabled');
    assert.deepEqual(status?.names, ['app.example.test']);
    assert.equal(out.certificates.length, compiled.certificates.length + 1);

    assert.deepEqual(out.errors, [...compiled.errors, warning, tcpWarning, resolverWide]);
    const app = out.routers.find((r) => r.name === 'app@file');
    assert.deepEqual(app?.errors, [warning]);
    assert.deepEqual(out.tcpRouters.find((r) => r.name === 'db@file')?.errors, [tcpWarning]);
    // Routers not named keep their very objects.
    const plain = (r: CompileResult) => r.routers.find((x) => x.name === 'plain@file');
    assert.equal(plain(out), plain(compiled));
  });

  it('attaches a problem to a router whose name holds dots', () => {
    const warning: ConfigError = {
      code: AcmeErrorCodes.CHALLENGE_FAILED,
      path: 'http.routers.my.app@file.tls.certResolver',
      message: 'router "http.routers.my.app@file": challenge failed',
      severity: 'warning',
    };
    const out = withAcme(compiled, {
      certificates: [],
      challenges: undefined,
      errors: [warning],
      now: new Date(),
    });
    assert.deepEqual(out.routers.find((r) => r.name === 'my.app@file')?.errors, [warning]);
    for (const [i, r] of out.routers.entries())
      if (r.name !== 'my.app@file') assert.equal(r, compiled.routers[i], r.name);
  });

  it('puts answers alone in the body (no certificate, no error) and keeps tls as it was', () => {
    const challenges = { tlsAlpn01: [{ domain: 'app.example.test', certPem: 'C', keyPem: 'K' }] };
    const out = withAcme(compiled, { certificates: [], challenges, errors: [], now: new Date() });
    assert.deepEqual(out.body.acme, challenges);
    assert.equal(out.body.tls, compiled.body.tls);
    assert.equal(out.certificates.length, compiled.certificates.length);
  });

  it('leaves out an unusable stored certificate with a disabled status and an error, without throwing', async () => {
    const other = await makeCert({ dns: ['app.example.test'] });
    const expired = await makeCert({
      dns: ['app.example.test'],
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    for (const bad of [
      material(acmeCert, { certPem: 'not a certificate' }),
      material(acmeCert, { keyPem: other.keyPem }),
      material(expired),
    ]) {
      const out = withAcme(compiled, {
        certificates: [bad],
        challenges: undefined,
        errors: [],
        now: new Date(),
      });
      assert.equal(out.body.tls?.certificates.length, compiled.body.tls?.certificates.length);
      const status = out.certificates.at(-1);
      assert.equal(status?.status, 'disabled');
      assert.equal(status?.origin, 'acme');
      assert.deepEqual(status?.names, ['app.example.test']);
      assert.equal(status?.errors.length, 1);
      assert.equal(status?.errors[0]?.path, 'certificatesResolvers.le');
      assert.match(
        status?.errors[0]?.message ?? '',
        /^certificate resolver "le" \(app\.example\.test\): the stored certificate .*; it is left out$/,
      );
    }
  });
});
