// Specifies how raw static configuration (entry points) is validated.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateStatic } from '../src/index.js';

describe('validateStatic', () => {
  it('keeps entry points with valid addresses as written', () => {
    const raw = {
      entryPoints: {
        web: { address: ':80' },
        local: { address: '127.0.0.1:8080' },
        v6: { address: '[::1]:443' },
      },
    };
    assert.deepEqual(validateStatic(raw), { config: raw, errors: [] });
  });

  it('matches keys case-insensitively', () => {
    assert.deepEqual(validateStatic({ EntryPoints: { web: { Address: ':80' } } }), {
      config: { entryPoints: { web: { address: ':80' } } },
      errors: [],
    });
  });

  it('treats empty input and a null entryPoints section as no entry points', () => {
    for (const raw of [null, undefined, {}, { entryPoints: null }]) {
      assert.deepEqual(validateStatic(raw), { config: { entryPoints: {} }, errors: [] });
    }
  });

  it('drops an entry point with an invalid address and keeps the others', () => {
    const asked: string[][] = [];
    const { config, errors } = validateStatic(
      { entryPoints: { web: { address: ':80' }, bad: { address: ':99999' } } },
      {
        sourceOf: (path) => {
          asked.push(path);
          return { provider: 'static', origin: 'berth.yml', line: 3 };
        },
      },
    );
    assert.deepEqual(config.entryPoints, { web: { address: ':80' } });
    assert.deepEqual(errors, [
      {
        code: 'BERTH_CONFIG_INVALID_ADDRESS',
        path: 'entryPoints.bad.address',
        message: errors[0]?.message,
        source: { provider: 'static', origin: 'berth.yml', line: 3 },
      },
    ]);
    assert.match(errors[0]!.message, /":99999"/);
    assert.deepEqual(asked, [['entryPoints', 'bad', 'address']]);
  });

  it('reports a missing or mistyped address', () => {
    const { config, errors } = validateStatic({ entryPoints: { a: {}, b: { address: 80 }, c: null } });
    assert.deepEqual(config.entryPoints, {});
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [
        ['BERTH_CONFIG_REQUIRED', 'entryPoints.a.address'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.b.address'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.c'],
      ],
    );
  });

  it('reports unknown and unsupported entry point fields and drops the entry point', () => {
    const { config, errors } = validateStatic({
      entryPoints: { a: { address: ':80', adress: ':81' }, b: { address: ':443', http3: {} } },
    });
    assert.deepEqual(config.entryPoints, {});
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [
        ['BERTH_CONFIG_UNKNOWN_FIELD', 'entryPoints.a.adress'],
        ['BERTH_CONFIG_UNSUPPORTED', 'entryPoints.b.http3'],
      ],
    );
  });

  it('keeps asDefault (Traefik v3) on the entry point, and rejects a non-boolean', () => {
    const { config, errors } = validateStatic({
      entryPoints: { web: { address: ':80' }, websecure: { address: ':443', asDefault: true } },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.entryPoints.websecure, { address: ':443', asDefault: true });
    const bad = validateStatic({ entryPoints: { a: { address: ':80', asDefault: 'maybe' } } });
    assert.deepEqual(
      bad.errors.map((e) => [e.code, e.path]),
      [['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.a.asDefault']],
    );
  });

  it('reports other top-level sections as unsupported and a non-mapping top level as one error', () => {
    assert.deepEqual(
      validateStatic({ providers: { docker: {} }, entryPoints: {} }).errors.map((e) => [e.code, e.path]),
      [['BERTH_CONFIG_UNSUPPORTED', 'providers']],
    );
    const { config, errors } = validateStatic(['entryPoints']);
    assert.deepEqual(config, { entryPoints: {} });
    assert.deepEqual(
      errors.map((e) => e.code),
      ['BERTH_CONFIG_INVALID_TYPE'],
    );
  });

  it('keeps entry point timeouts, trusted IPs and http settings, durations normalised', () => {
    const { config, errors } = validateStatic({
      entryPoints: {
        web: {
          address: ':80',
          transport: {
            respondingTimeouts: { readTimeout: 60, writeTimeout: '0s', idleTimeout: '3m' },
            lifeCycle: { graceTimeOut: '10s' },
          },
          forwardedHeaders: { trustedIPs: '10.0.0.0/8,192.168.0.1', insecure: false },
          http: { maxHeaderBytes: '16384', maxHeaderCount: '50', middlewares: ['secure@file'] },
        },
      },
      accessLog: { enabled: true, sampling: '0.5' },
      routeRemovalGrace: 30,
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config, {
      entryPoints: {
        web: {
          address: ':80',
          transport: {
            respondingTimeouts: { readTimeout: '60s', writeTimeout: '0s', idleTimeout: '3m' },
            lifeCycle: { graceTimeOut: '10s' },
          },
          forwardedHeaders: { trustedIPs: ['10.0.0.0/8', '192.168.0.1'], insecure: false },
          http: { maxHeaderBytes: 16384, maxHeaderCount: 50, middlewares: ['secure@file'] },
        },
      },
      accessLog: { enabled: true, sampling: 0.5 },
      routeRemovalGrace: '30s',
    });
  });

  it('drops an entry point with a bad timeout or trusted IP, and leaves out a bad access log setting', () => {
    const { config, errors } = validateStatic({
      entryPoints: {
        a: { address: ':80', transport: { respondingTimeouts: { readTimeout: 'forever' } } },
        b: { address: ':81', forwardedHeaders: { trustedIPs: ['10.0.0.0/40'] } },
        c: { address: ':82', http: { maxHeaderBytes: 0 } },
        d: { address: ':83', http: { maxHeaderCount: 0 } },
        e: { address: ':84', http: { maxHeaderCount: 'many' } },
      },
      accessLog: { sampling: 2 },
      routeRemovalGrace: 'later',
    });
    assert.deepEqual(config, { entryPoints: {} });
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.a.transport.respondingTimeouts.readTimeout'],
        ['BERTH_CONFIG_INVALID_CIDR', 'entryPoints.b.forwardedHeaders.trustedIPs.0'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.c.http.maxHeaderBytes'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.d.http.maxHeaderCount'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.e.http.maxHeaderCount'],
        ['BERTH_CONFIG_INVALID_TYPE', 'accessLog.sampling'],
        ['BERTH_CONFIG_INVALID_TYPE', 'routeRemovalGrace'],
      ],
    );
  });
});

describe('validateStatic TLS and TCP entry point settings', () => {
  it('keeps proxyProtocol, redirections, http.tls, clientHelloTimeout and the tls section', () => {
    const raw = {
      entryPoints: {
        web: {
          address: ':80',
          http: {
            redirections: { entryPoint: { to: 'websecure', scheme: 'https', permanent: true, priority: 10 } },
          },
        },
        websecure: {
          address: ':443',
          transport: { respondingTimeouts: { clientHelloTimeout: '10s' } },
          proxyProtocol: { trustedIPs: ['10.0.0.0/8', '192.168.1.7'], insecure: false },
          http: {
            tls: {
              options: 'tls-opts@file',
              certResolver: 'dns-cloudflare',
              domains: [{ main: 'home.example.com', sans: ['*.home.example.com'] }],
            },
          },
        },
        alt: { address: ':8080', http: { redirections: { entryPoint: { to: ':8443' } } } },
      },
      tls: { defaultProfile: 'compatible', sessionTicketRotation: '12h' },
    };
    assert.deepEqual(validateStatic(raw), { config: raw, errors: [] });
  });

  it('reads http.tls=true (the CLI and label form) as TLS with defaults', () => {
    const { config, errors } = validateStatic({
      entryPoints: {
        a: { address: ':443', http: { tls: 'true' } },
        b: { address: ':8443', http: { TLS: true } },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.entryPoints['a']?.http, { tls: {} });
    assert.deepEqual(config.entryPoints['b']?.http, { tls: {} });
  });

  it('keeps http2.maxConcurrentStreams and refuses a value below 1', () => {
    const good = validateStatic({
      entryPoints: { s: { address: ':443', http2: { maxConcurrentStreams: 64 } } },
    });
    assert.deepEqual(good.errors, []);
    assert.deepEqual(good.config.entryPoints['s']?.http2, { maxConcurrentStreams: 64 });
    const bad = validateStatic({
      entryPoints: { s: { address: ':443', http2: { maxConcurrentStreams: 0 } } },
    });
    assert.equal(bad.errors[0]?.path, 'entryPoints.s.http2.maxConcurrentStreams');
  });

  it('keeps http2.keepAlive durations, normalised, and lets interval be 0 (off)', () => {
    const { config, errors } = validateStatic({
      entryPoints: {
        s: { address: ':443', http2: { keepAlive: { interval: 20, timeout: '5s' } } },
        off: { address: ':8443', http2: { keepAlive: { interval: '0s' } } },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.entryPoints['s']?.http2, { keepAlive: { interval: '20s', timeout: '5s' } });
    assert.deepEqual(config.entryPoints['off']?.http2, { keepAlive: { interval: '0s' } });
  });

  it('refuses an http2.keepAlive that is not a duration, a timeout of 0 and an unknown field', () => {
    const { config, errors } = validateStatic({
      entryPoints: {
        a: { address: ':443', http2: { keepAlive: { interval: 'often' } } },
        b: { address: ':444', http2: { keepAlive: { interval: '30s', timeout: 0 } } },
        c: { address: ':445', http2: { keepAlive: { intervall: '30s' } } },
        d: { address: ':446', http2: { keepAlive: '30s' } },
      },
    });
    assert.deepEqual(Object.keys(config.entryPoints), []);
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.a.http2.keepAlive.interval'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.b.http2.keepAlive.timeout'],
        ['BERTH_CONFIG_UNKNOWN_FIELD', 'entryPoints.c.http2.keepAlive.intervall'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.d.http2.keepAlive'],
      ],
    );
    assert.match(errors[1]!.message, /timeout must be longer than 0; to turn PINGs off, set interval to 0$/);
  });

  it('refuses a redirection to an entry point that does not exist, listing the ones that do', () => {
    const { config, errors } = validateStatic({
      entryPoints: {
        web: { address: ':80', http: { redirections: { entryPoint: { to: 'websecur' } } } },
        websecure: { address: ':443' },
      },
    });
    assert.deepEqual(Object.keys(config.entryPoints), ['websecure']);
    assert.equal(errors.length, 1);
    assert.deepEqual(
      [errors[0]!.code, errors[0]!.path],
      ['BERTH_CONFIG_UNKNOWN_ENTRY_POINT', 'entryPoints.web.http.redirections.entryPoint.to'],
    );
    assert.match(
      errors[0]!.message,
      /^entry point 'web': http\.redirections\.entryPoint\.to "websecur" is not an entry point \(entry points: web, websecure\); give an entry point's name or ':port'$/,
    );
  });

  it('checks the rest of a redirection, proxyProtocol, http.tls and clientHelloTimeout', () => {
    const { config, errors } = validateStatic({
      entryPoints: {
        a: { address: ':80', http: { redirections: { entryPoint: { to: ':99999' } } } },
        b: { address: ':81', http: { redirections: { entryPoint: { scheme: 'https' } } } },
        c: {
          address: ':82',
          http: { redirections: { entryPoint: { to: 'a', scheme: 'ftp', permanent: 'yes' } } },
        },
        d: { address: ':83', proxyProtocol: { trustedIPs: ['10.0.0.0/40'], insecure: 'no' } },
        e: { address: ':84', http: { tls: { certresolver: 'le', domains: 'a.com' } } },
        f: { address: ':85', transport: { respondingTimeouts: { clientHelloTimeout: 'soon' } } },
        g: { address: ':86', http: { tls: 'on' } },
      },
    });
    assert.deepEqual(config.entryPoints, {});
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.a.http.redirections.entryPoint.to'],
        ['BERTH_CONFIG_REQUIRED', 'entryPoints.b.http.redirections.entryPoint.to'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.c.http.redirections.entryPoint.scheme'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.c.http.redirections.entryPoint.permanent'],
        ['BERTH_CONFIG_INVALID_CIDR', 'entryPoints.d.proxyProtocol.trustedIPs.0'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.d.proxyProtocol.insecure'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.e.http.tls.domains'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.f.transport.respondingTimeouts.clientHelloTimeout'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.g.http.tls'],
      ],
    );
    assert.match(errors[0]!.message, /must be a port from 1 to 65535, got "99999"/);
  });

  it('leaves out a tls section with a bad setting, and says which profiles exist', () => {
    const { config, errors } = validateStatic({
      entryPoints: {},
      tls: { defaultProfile: 'old', sessionTicketRotation: '12h' },
    });
    assert.deepEqual(config, { entryPoints: {} });
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [['BERTH_CONFIG_INVALID_TYPE', 'tls.defaultProfile']],
    );
    assert.match(
      errors[0]!.message,
      /defaultProfile must be one of "strict", "compatible", got the string "old"/,
    );
  });
});
