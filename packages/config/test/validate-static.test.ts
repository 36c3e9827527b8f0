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
          http: { maxHeaderBytes: '16384', middlewares: ['secure@file'] },
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
          http: { maxHeaderBytes: 16384, middlewares: ['secure@file'] },
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
        ['BERTH_CONFIG_INVALID_TYPE', 'accessLog.sampling'],
        ['BERTH_CONFIG_INVALID_TYPE', 'routeRemovalGrace'],
      ],
    );
  });
});
