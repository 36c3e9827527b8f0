// Specifies how services of every kind, health checks and servers transports are validated.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ConfigError,
  DEFAULT_HEALTHY_STATUS,
  type HttpService,
  normaliseStatusSpec,
  statusMatcher,
  validateDynamic,
} from '../src/index.js';

function services(raw: Record<string, unknown>): {
  kept: Record<string, HttpService>;
  errors: ConfigError[];
} {
  const { config, errors } = validateDynamic({ http: { services: raw } });
  return { kept: config.http.services, errors };
}

function pairs(errors: readonly ConfigError[]): Array<[string, string]> {
  return errors.map((e) => [e.code, e.path]);
}

const servers = [{ url: 'http://10.0.0.2:80', weight: 2 }];

describe('validateDynamic http.services', () => {
  it('keeps a load balancer with every option, normalised', () => {
    const { kept, errors } = services({
      api: {
        loadBalancer: {
          servers: [{ url: 'http://10.0.0.2:80', weight: '3', preservePath: true }],
          strategy: 'P2C',
          passHostHeader: false,
          sticky: { cookie: { name: 'lb', secure: true, httpOnly: 'true', sameSite: 'Lax', maxAge: -1 } },
          healthCheck: {
            path: '/health',
            interval: 10,
            timeout: '3s',
            status: 204,
            headers: { 'X-Probe': '1' },
            port: 8081,
            scheme: 'HTTPS',
          },
          passiveHealthCheck: {
            maxFailedAttempts: 3,
            failureWindow: '10s',
            ejectTime: '5s',
            maxEjectTime: '1m',
          },
          serversTransport: 'internal',
          responseForwarding: { flushInterval: '100ms' },
        },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(kept['api'], {
      loadBalancer: {
        servers: [{ url: 'http://10.0.0.2:80', weight: 3, preservePath: true }],
        strategy: 'p2c',
        passHostHeader: false,
        sticky: { cookie: { name: 'lb', secure: true, httpOnly: true, sameSite: 'lax', maxAge: -1 } },
        healthCheck: {
          path: '/health',
          interval: '10s',
          timeout: '3s',
          status: '204',
          headers: { 'X-Probe': '1' },
          port: 8081,
          scheme: 'https',
        },
        passiveHealthCheck: {
          maxFailedAttempts: 3,
          failureWindow: '10s',
          ejectTime: '5s',
          maxEjectTime: '1m',
        },
        serversTransport: 'internal',
        responseForwarding: { flushInterval: '100ms' },
      },
    });
  });

  it('keeps weighted and mirroring services', () => {
    const { kept, errors } = services({
      canary: {
        weighted: {
          services: [
            { name: 'v1', weight: 9 },
            { name: 'v2', weight: 1 },
          ],
        },
      },
      shadow: { mirroring: { service: 'v1', mirrors: [{ name: 'v2', percent: 10 }], maxBodySize: -1 } },
    });
    assert.deepEqual(errors, []);
    assert.equal(kept['canary']?.weighted?.services.length, 2);
    assert.deepEqual(kept['shadow']?.mirroring, {
      service: 'v1',
      mirrors: [{ name: 'v2', percent: 10 }],
      maxBodySize: -1,
    });
  });

  it('refuses a service with several kinds, and one with none', () => {
    const { kept, errors } = services({
      both: { loadBalancer: { servers }, weighted: { services: [{ name: 'x' }] } },
      none: {},
    });
    assert.deepEqual(kept, {});
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_SERVICE_KIND', 'http.services.both'],
      ['BERTH_CONFIG_SERVICE_KIND', 'http.services.none'],
    ]);
  });

  it('reads an empty loadBalancer as a service with no servers yet', () => {
    assert.deepEqual(services({ a: { loadBalancer: null } }).kept, { a: { loadBalancer: { servers: [] } } });
  });

  it('type-checks every option and drops only the broken service', () => {
    const { kept, errors } = services({
      ok: { loadBalancer: { servers } },
      a: { loadBalancer: { servers, strategy: 'random' } },
      b: { loadBalancer: { servers, sticky: { cookie: { sameSite: 'sometimes' } } } },
      c: { loadBalancer: { servers, healthCheck: { interval: 'often' } } },
      d: { loadBalancer: { servers, healthCheck: { status: '200-1000' } } },
      e: { loadBalancer: { servers, passiveHealthCheck: { maxFailedAttempts: 0 } } },
      f: { weighted: { services: [] } },
      g: { weighted: { services: [{ weight: 1 }] } },
      h: { mirroring: { service: 'x', mirrors: [{ name: 'y', percent: 101 }] } },
      i: { mirroring: { mirrors: [] } },
      j: { loadBalancer: { servers, sticky: { cookie: { name: 'a b' } } } },
      k: { loadBalancer: { servers, sticky: { cookie: { path: '/; Secure' } } } },
      l: { loadBalancer: { servers, healthCheck: { path: '/health check' } } },
      m: { loadBalancer: { servers, healthCheck: { headers: { 'X-A': 'a\nb' } } } },
    });
    assert.deepEqual(Object.keys(kept), ['ok']);
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_INVALID_TYPE', 'http.services.a.loadBalancer.strategy'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.services.b.loadBalancer.sticky.cookie.sameSite'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.services.c.loadBalancer.healthCheck.interval'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.services.d.loadBalancer.healthCheck.status'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.services.e.loadBalancer.passiveHealthCheck.maxFailedAttempts'],
      ['BERTH_CONFIG_REQUIRED', 'http.services.f.weighted.services'],
      ['BERTH_CONFIG_REQUIRED', 'http.services.g.weighted.services.0.name'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.services.h.mirroring.mirrors.0.percent'],
      ['BERTH_CONFIG_REQUIRED', 'http.services.i.mirroring.service'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.services.j.loadBalancer.sticky.cookie.name'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.services.k.loadBalancer.sticky.cookie.path'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.services.l.loadBalancer.healthCheck.path'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.services.m.loadBalancer.healthCheck.headers.X-A'],
    ]);
  });
});

describe('validateDynamic http.serversTransports', () => {
  it('keeps every field, durations normalised', () => {
    const { config, errors } = validateDynamic({
      http: {
        serversTransports: {
          internal: {
            serverName: 'backend.local',
            insecureSkipVerify: 'false',
            rootCAs: ['/etc/ca.pem'],
            certificates: [{ certFile: '/c.pem', keyFile: '/k.pem' }],
            maxIdleConnsPerHost: 10,
            maxConnsPerHost: 100,
            forwardingTimeouts: { dialTimeout: 5, responseHeaderTimeout: '30s', idleConnTimeout: '90s' },
          },
        },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.http.serversTransports?.['internal']?.forwardingTimeouts, {
      dialTimeout: '5s',
      responseHeaderTimeout: '30s',
      idleConnTimeout: '90s',
    });
    assert.equal(config.http.serversTransports?.['internal']?.insecureSkipVerify, false);
  });

  it('drops a transport with a bad field and reports Traefik-only fields as unsupported', () => {
    const { config, errors } = validateDynamic({
      http: {
        serversTransports: {
          a: { forwardingTimeouts: { dialTimeout: '-1s' } },
          b: { certificates: [{ certFile: '/c.pem' }] },
          c: { spiffe: { ids: ['x'] } },
          ok: {},
        },
      },
    });
    assert.deepEqual(Object.keys(config.http.serversTransports ?? {}), ['ok']);
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_INVALID_TYPE', 'http.serversTransports.a.forwardingTimeouts.dialTimeout'],
      ['BERTH_CONFIG_REQUIRED', 'http.serversTransports.b.certificates.0.keyFile'],
      ['BERTH_CONFIG_UNSUPPORTED', 'http.serversTransports.c.spiffe'],
    ]);
  });
});

describe('validateDynamic failover, highestRandomWeight and service health checks', () => {
  it('keeps failover and highestRandomWeight services, and healthCheck: {} on services of services', () => {
    const { kept, errors } = services({
      standby: { failover: { service: 'a', fallback: 'b', healthCheck: {} } },
      sticky: {
        highestRandomWeight: { services: [{ name: 'a', weight: 2 }, { name: 'b' }], healthCheck: {} },
      },
      split: { weighted: { services: [{ name: 'a' }], healthCheck: {} } },
      copy: { mirroring: { service: 'a', healthCheck: {} } },
      grpc: { loadBalancer: { servers, strategy: 'HRW', healthCheck: { mode: 'gRPC', scheme: 'h2c' } } },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(kept['standby'], { failover: { service: 'a', fallback: 'b', healthCheck: {} } });
    assert.deepEqual(kept['sticky']?.highestRandomWeight?.services, [
      { name: 'a', weight: 2 },
      { name: 'b' },
    ]);
    assert.deepEqual(kept['split']?.weighted?.healthCheck, {});
    assert.deepEqual(kept['copy']?.mirroring?.healthCheck, {});
    assert.equal(kept['grpc']?.loadBalancer?.strategy, 'hrw');
    assert.deepEqual(kept['grpc']?.loadBalancer?.healthCheck, { mode: 'grpc', scheme: 'h2c' });
  });

  it('reports Traefik fields Berth lacks as unsupported, never as unknown, and typos as unknown', () => {
    const { kept, errors } = services({
      a: { failover: { service: 'x', fallback: 'y', errors: { status: ['502'] } } },
      b: { loadBalancer: { servers, strategy: 'leasttime' } },
      c: { middlewares: ['m'], loadBalancer: { servers } },
      d: { failover: { service: 'x' } },
      e: { highestRandomWeight: { services: [] } },
      f: { weighted: { services: [{ name: 'x' }], healthcheck: { path: '/' } } },
      g: { loadBalancer: { servers, healthCheck: { mode: 'tcp' } } },
      h: { failover: { service: 'x', fallbak: 'y' } },
    });
    assert.deepEqual(kept, {});
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_UNSUPPORTED', 'http.services.a.failover.errors'],
      ['BERTH_CONFIG_UNSUPPORTED', 'http.services.b.loadBalancer.strategy'],
      ['BERTH_CONFIG_UNSUPPORTED', 'http.services.c.middlewares'],
      ['BERTH_CONFIG_REQUIRED', 'http.services.d.failover.fallback'],
      ['BERTH_CONFIG_REQUIRED', 'http.services.e.highestRandomWeight.services'],
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'http.services.f.weighted.healthCheck.path'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.services.g.loadBalancer.healthCheck.mode'],
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'http.services.h.failover.fallbak'],
      ['BERTH_CONFIG_REQUIRED', 'http.services.h.failover.fallback'],
    ]);
  });

  it('keeps serversTransport TLS versions and suites, reports an empty range and unknown suites', () => {
    const { config, errors } = validateDynamic({
      http: {
        serversTransports: {
          ok: {
            minVersion: 'VersionTLS12',
            maxVersion: 'versiontls13',
            cipherSuites: ['TLS_AES_128_GCM_SHA256'],
          },
          range: { minVersion: 'VersionTLS13', maxVersion: 'VersionTLS12' },
          suite: { cipherSuites: ['ECDHE-RSA-AES128-GCM-SHA256'] },
          sans: { peerCertSANs: [{ dns: 'x' }], disableHTTP2: true },
        },
      },
    });
    assert.deepEqual(Object.keys(config.http.serversTransports ?? {}), ['ok']);
    assert.deepEqual(config.http.serversTransports?.['ok'], {
      minVersion: 'VersionTLS12',
      maxVersion: 'VersionTLS13',
      cipherSuites: ['TLS_AES_128_GCM_SHA256'],
    });
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_TLS_VERSION_RANGE', 'http.serversTransports.range.minVersion'],
      ['BERTH_CONFIG_TLS_UNKNOWN_CIPHER', 'http.serversTransports.suite.cipherSuites.0'],
      ['BERTH_CONFIG_UNSUPPORTED', 'http.serversTransports.sans.peerCertSANs'],
    ]);
  });
});

describe('health check status specs', () => {
  it('normalises integers, lists, ranges and classes', () => {
    assert.equal(normaliseStatusSpec(200), '200');
    assert.equal(normaliseStatusSpec(' 200-299, 304 '), '200-299,304');
    assert.equal(normaliseStatusSpec('2XX'), '2xx');
    for (const bad of ['', '99', '600', '299-200', '2xx-3xx', 'ok', '6xx', '200,,204']) {
      assert.equal(normaliseStatusSpec(bad), null, bad);
    }
  });

  it('matches statuses against a spec', () => {
    const match = statusMatcher('200-204,304,5xx');
    assert.deepEqual([199, 200, 204, 205, 304, 500, 599, 404].map(match), [
      false,
      true,
      true,
      false,
      true,
      true,
      true,
      false,
    ]);
    assert.equal(statusMatcher('200')(200), true);
    assert.equal(statusMatcher('200')(201), false);
  });

  it('defaults to 2xx and 3xx, as Traefik does', () => {
    const match = statusMatcher(DEFAULT_HEALTHY_STATUS);
    assert.deepEqual([200, 302, 399, 400, 500].map(match), [true, true, true, false, false]);
  });
});
