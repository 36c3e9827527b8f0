// The pure side of TLS termination: certificate by SNI, TLS options in effect per host, Node settings from tls.options, TLS routers apart.
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { describe, it } from 'node:test';
import type { EntryPoint, HttpRouter, RequestView, ResolvedCertificate } from '@berth/config';
import { CIPHER_PROFILES } from '@berth/config';
import { buildRuntime } from '../src/runtime/build-runtime.js';
import { routeRequest } from '../src/runtime/route-request.js';
import { CertificateIndex } from '../src/tls/certificate-index.js';
import {
  hostSniNames,
  optionsInEffect,
  TLS_OPTIONS_CONFLICT,
  TLS_OPTIONS_UNKNOWN,
} from '../src/tls/options-in-effect.js';
import { clientCertAccepted, serverSettings } from '../src/tls/server-options.js';
import { body, service } from './support/snapshot.js';

function cert(...names: string[]): ResolvedCertificate {
  return {
    certPem: '',
    keyPem: '',
    names,
    notAfter: '2100-01-01T00:00:00Z',
    stores: ['default'],
    origin: 'file',
  };
}

describe('certificate selection by SNI', () => {
  const index = new CertificateIndex(
    [
      cert('app.example.com'),
      cert('*.example.com'),
      cert('app.example.com', 'other.test'),
      { ...cert('elsewhere.test'), stores: ['other'] },
    ],
    cert('default'),
  );
  const pick = (name: string, strict = false) => index.select(name, strict);

  it('prefers the exact name (the first certificate listing it), then a one-label wildcard, then the default', () => {
    assert.deepEqual(pick('app.example.com'), { index: 0, fallback: false });
    assert.deepEqual(pick('APP.example.com.'), { index: 0, fallback: false });
    assert.deepEqual(pick('other.test'), { index: 2, fallback: false });
    assert.deepEqual(pick('www.example.com'), { index: 1, fallback: false });
    assert.deepEqual(pick('a.b.example.com'), { index: index.defaultIndex, fallback: true });
    assert.deepEqual(pick('example.com'), { index: index.defaultIndex, fallback: true });
    assert.deepEqual(pick(''), { index: index.defaultIndex, fallback: true });
  });

  it('ignores certificates of other stores', () => {
    assert.equal(pick('elsewhere.test')?.fallback, true);
  });

  it('refuses unknown and missing names under sniStrict', () => {
    assert.equal(pick('nowhere.test', true), null);
    assert.equal(pick('', true), null);
    assert.deepEqual(pick('www.example.com', true), { index: 1, fallback: false });
  });
});

describe('TLS options in effect', () => {
  const known = new Set(['default', 'strict', 'compatible', 'mtls']);
  const ep: EntryPoint = { address: ':443' };

  it('takes the router options, else the entry point http.tls options, else default', () => {
    const routers: Record<string, HttpRouter> = {
      a: { rule: 'Host(`a.test`)', service: 's', tls: { options: 'compatible' } },
      b: { rule: 'Host(`b.test`) || Host(`x.b.test`)', service: 's', tls: {} },
      c: { rule: 'Host(`c.test`)', service: 's' },
      d: { rule: 'PathPrefix(`/x`)', service: 's', tls: { options: 'mtls' } },
    };
    const plain = optionsInEffect('websecure', ep, routers, known);
    assert.deepEqual(plain.problems, []);
    assert.equal(plain.options.forName('a.test'), 'compatible');
    assert.equal(plain.options.forName('b.test'), 'default');
    assert.equal(plain.options.forName('c.test'), 'default');
    assert.equal(plain.options.forName('unbound.test'), 'default');
    assert.equal(plain.options.forName(''), 'default');
    const withEp = optionsInEffect(
      'websecure',
      { ...ep, http: { tls: { options: 'strict' } } },
      routers,
      known,
    );
    assert.equal(withEp.options.forName('a.test'), 'compatible');
    assert.equal(withEp.options.forName('b.test'), 'strict');
    assert.equal(withEp.options.forName('x.b.test'), 'strict');
    // With http.tls every router of the entry point serves TLS, c included.
    assert.equal(withEp.options.forName('c.test'), 'strict');
  });

  it('skips routers of other entry points', () => {
    const routers: Record<string, HttpRouter> = {
      a: { rule: 'Host(`a.test`)', service: 's', entryPoints: ['other'], tls: { options: 'compatible' } },
    };
    assert.equal(optionsInEffect('websecure', ep, routers, known).options.forName('a.test'), 'default');
  });

  it('falls back to default, with a problem, for conflicting or unknown options', () => {
    const routers: Record<string, HttpRouter> = {
      one: { rule: 'Host(`a.test`)', service: 's', tls: { options: 'compatible' } },
      two: { rule: 'Host(`a.test`) && Path(`/two`)', service: 's', tls: { options: 'strict' } },
      same: { rule: 'Host(`b.test`)', service: 's', tls: { options: 'strict' } },
      again: { rule: 'Host(`b.test`) && Path(`/again`)', service: 's', tls: { options: 'strict' } },
      typo: { rule: 'Host(`c.test`)', service: 's', tls: { options: 'stirct' } },
    };
    const { options, problems } = optionsInEffect('websecure', ep, routers, known);
    assert.equal(options.forName('a.test'), 'default');
    assert.equal(options.forName('b.test'), 'strict');
    assert.equal(options.forName('c.test'), 'default');
    const conflict = problems.find((p) => p.code === TLS_OPTIONS_CONFLICT);
    assert.deepEqual(conflict?.routers, ['one', 'two']);
    assert.equal(conflict?.host, 'a.test');
    assert.deepEqual(problems.find((p) => p.code === TLS_OPTIONS_UNKNOWN)?.routers, ['typo']);
  });
});

describe('TLS options of TCP routers', () => {
  const known = new Set(['default', 'strict', 'compatible']);

  it('reads the server names a TCP rule is bound to', () => {
    assert.deepEqual(hostSniNames('HostSNI(`a.test`)'), ['a.test']);
    assert.deepEqual(hostSniNames('HostSNI(`a.test`, `b.test`) || HostSNI(`c.test`)'), [
      'a.test',
      'b.test',
      'c.test',
    ]);
    assert.equal(hostSniNames('HostSNI(`*`)'), null);
    assert.deepEqual(hostSniNames('HostSNI(`a.test`) && ClientIP(`10.0.0.0/8`)'), ['a.test']);
    assert.equal(hostSniNames('HostSNI(`a.test`) || ClientIP(`10.0.0.0/8`)'), null);
    assert.equal(hostSniNames('!HostSNI(`a.test`)'), null);
    assert.equal(hostSniNames('HostSNIRegexp(`^a`)'), null);
  });

  it('ties the names of terminating TCP routers to their options, passthrough ones to none', () => {
    const { options, problems } = optionsInEffect('websecure', { address: ':443' }, {}, known, {
      db: { rule: 'HostSNI(`db.test`)', service: 's', tls: { options: 'compatible' } },
      pass: { rule: 'HostSNI(`pass.test`)', service: 's', tls: { passthrough: true, options: 'compatible' } },
      plain: { rule: 'HostSNI(`*`)', service: 's' },
    });
    assert.deepEqual(problems, []);
    assert.equal(options.forName('db.test'), 'compatible');
    assert.equal(options.forName('pass.test'), 'default');
  });
});

describe('Node settings from tls.options', () => {
  it('maps the strict profile to OpenSSL names, TLS 1.3 suites always allowed, TLS 1.2 minimum', () => {
    const s = serverSettings(CIPHER_PROFILES.strict);
    assert.equal(s.context.minVersion, 'TLSv1.2');
    assert.equal(s.context.maxVersion, 'TLSv1.3');
    const list = s.context.ciphers.split(':');
    assert.deepEqual(list.slice(0, 3), [
      'TLS_AES_128_GCM_SHA256',
      'TLS_AES_256_GCM_SHA384',
      'TLS_CHACHA20_POLY1305_SHA256',
    ]);
    assert.ok(list.includes('ECDHE-ECDSA-AES128-GCM-SHA256'));
    assert.ok(!list.some((c) => c.endsWith('-SHA') || c.startsWith('AES')), 'no CBC or RSA key exchange');
    assert.deepEqual(s.socket.alpn, ['h2', 'http/1.1']);
    assert.equal(s.socket.requestCert, false);
    assert.equal(s.context.secureOptions, 0);
  });

  it('adds CBC and RSA suites for compatible, security level 0 for TLS 1.0/1.1', () => {
    const compat = serverSettings(CIPHER_PROFILES.compatible).context.ciphers.split(':');
    assert.ok(compat.includes('ECDHE-RSA-AES128-SHA') && compat.includes('AES256-GCM-SHA384'));
    const legacy = serverSettings({ minVersion: 'VersionTLS11', maxVersion: 'VersionTLS12' }).context;
    assert.equal(legacy.minVersion, 'TLSv1.1');
    assert.equal(legacy.maxVersion, 'TLSv1.2');
    assert.ok(legacy.ciphers.endsWith(':@SECLEVEL=0'));
  });

  it('maps curves, ALPN, session tickets and client authentication', () => {
    const s = serverSettings({
      curvePreferences: ['CurveP256', 'X25519', 'secp384r1', 'CurveP521', 'bogus'],
      alpnProtocols: ['http/1.1'],
      disableSessionTickets: true,
      clientAuth: { clientAuthType: 'VerifyClientCertIfGiven', caFiles: ['PEM'] },
    });
    assert.equal(s.context.ecdhCurve, 'P-256:X25519:P-384:P-521');
    assert.deepEqual(s.socket.alpn, ['http/1.1']);
    assert.equal(s.context.secureOptions & constants.SSL_OP_NO_TICKET, constants.SSL_OP_NO_TICKET);
    assert.deepEqual(s.context.ca, ['PEM']);
    assert.equal(s.socket.requestCert, true);
    assert.equal(s.socket.clientAuth, 'VerifyClientCertIfGiven');
  });

  it('judges client certificates as Go does per clientAuthType', () => {
    const verdicts = (mode: Parameters<typeof clientCertAccepted>[0]) => [
      clientCertAccepted(mode, false, null),
      clientCertAccepted(mode, true, null),
      clientCertAccepted(mode, true, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
    ];
    assert.deepEqual(verdicts('NoClientCert'), [true, true, true]);
    assert.deepEqual(verdicts('RequestClientCert'), [true, true, true]);
    assert.deepEqual(verdicts('RequireAnyClientCert'), [false, true, true]);
    assert.deepEqual(verdicts('VerifyClientCertIfGiven'), [true, true, false]);
    assert.deepEqual(verdicts('RequireAndVerifyClientCert'), [false, true, false]);
  });
});

describe('TLS routers in the runtime', () => {
  const view = (host: string): RequestView => ({
    host,
    path: '/',
    method: 'GET',
    headers: {},
    query: '',
    clientIp: '',
  });

  it('answers TLS requests with TLS routers only, plain ones with plain routers only', () => {
    const b = body(
      {
        secure: { rule: 'Host(`a.test`)', service: 's', tls: {} },
        plain: { rule: 'Host(`a.test`)', service: 's' },
        onlyTls: { rule: 'Host(`b.test`)', service: 's', tls: { options: 'strict' } },
      },
      { s: service('http://127.0.0.1:1') },
      { websecure: ':443' },
    );
    const built = buildRuntime(b);
    assert.ok(built.ok);
    const rt = built.runtime;
    assert.equal(routeRequest(rt, 'websecure', view('a.test'), true)?.name, 'secure');
    assert.equal(routeRequest(rt, 'websecure', view('a.test'), false)?.name, 'plain');
    assert.equal(routeRequest(rt, 'websecure', view('a.test'))?.name, 'plain');
    assert.equal(routeRequest(rt, 'websecure', view('b.test'), false), undefined);
    assert.equal(routeRequest(rt, 'websecure', view('b.test'), true)?.name, 'onlyTls');
    assert.equal(rt.routers.get('websecure')?.entries.length, 3);
  });

  it('makes every router of an entry point with http.tls a TLS router', () => {
    const b = body(
      { any: { rule: 'Host(`a.test`)', service: 's' } },
      { s: service('http://127.0.0.1:1') },
      { websecure: ':443' },
    );
    (b.entryPoints['websecure'] as EntryPoint).http = { tls: {} };
    const built = buildRuntime(b);
    assert.ok(built.ok);
    assert.equal(routeRequest(built.runtime, 'websecure', view('a.test'), true)?.name, 'any');
    assert.equal(routeRequest(built.runtime, 'websecure', view('a.test'), false), undefined);
  });
});
