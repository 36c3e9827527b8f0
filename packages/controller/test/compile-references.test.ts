// Unit tests for the compiler's cross-references: middlewares, chains, weighted/mirroring services, transports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  DynamicConfig,
  HttpMiddleware,
  HttpRouter,
  HttpService,
  ServersTransport,
  StaticConfig,
} from '@berth/config';
import { hashBody } from '@berth/protocol';
import { compile } from '../src/compiler/compile.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

const statics: StaticConfig = { entryPoints: { web: { address: ':80' } } };
const lb: HttpService = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } };
const strip: HttpMiddleware = { stripPrefix: { prefixes: ['/api'] } };

function part(
  http: {
    routers?: Record<string, HttpRouter>;
    services?: Record<string, HttpService>;
    middlewares?: Record<string, HttpMiddleware>;
    serversTransports?: Record<string, ServersTransport>;
  },
  sourceKey = '/a.yml',
): ProviderPart {
  const config: DynamicConfig = { http: { routers: {}, services: {}, ...http } };
  return { sourceKey, config, errors: [] };
}

function route(service: string, middlewares?: string[]): HttpRouter {
  return middlewares === undefined
    ? { rule: 'Host(`a`)', service }
    : { rule: 'Host(`a`)', service, middlewares };
}

function codes(result: ReturnType<typeof compile>): Array<[string, string]> {
  return result.errors.map((e) => [e.code, e.path]);
}

describe('compile: router middlewares', () => {
  it('keeps a router whose middlewares exist, every name qualified by its provider in the body', () => {
    const docker: ProviderPart = { ...part({ services: { s: lb } }, 'docker/app'), provider: 'docker' };
    const result = compile(
      [
        part({
          routers: { r: route('s@docker', ['strip@file', 'auth@File', 'hdr']) },
          middlewares: {
            strip,
            auth: { basicAuth: { users: ['u:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='] } },
            hdr: { headers: { frameDeny: true } },
          },
        }),
        docker,
      ],
      statics,
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.body.http.routers['r@file'], {
      rule: 'Host(`a`)',
      service: 's@docker',
      middlewares: ['strip@file', 'auth@file', 'hdr@file'],
      entryPoints: ['web'],
    });
    assert.deepEqual(Object.keys(result.body.http.middlewares ?? {}).sort(), [
      'auth@file',
      'hdr@file',
      'strip@file',
    ]);
    assert.deepEqual(Object.keys(result.body.http.services), ['s@docker']);
    assert.deepEqual(result.routers[0]?.middlewares, ['strip@file', 'auth@file', 'hdr@file']);
    assert.deepEqual(
      result.middlewares.map((m) => [m.name, m.type, m.status, m.usedBy]),
      [
        ['auth@file', 'basicAuth', 'enabled', ['r@file']],
        ['hdr@file', 'headers', 'enabled', ['r@file']],
        ['strip@file', 'stripPrefix', 'enabled', ['r@file']],
      ],
    );
  });

  it('keeps a router naming a missing middleware in the body, failing closed with MIDDLEWARE_MISSING', () => {
    const result = compile(
      [
        part({
          routers: { bad: route('s', ['nope@file']), good: route('s', ['strip']) },
          services: { s: lb },
          middlewares: { strip },
        }),
      ],
      statics,
    );
    assert.deepEqual(Object.keys(result.body.http.routers), ['bad@file', 'good@file']);
    // In the table with nothing behind it: the nodes answer 503 naming the code.
    assert.deepEqual(result.body.http.routers['bad@file'], {
      rule: 'Host(`a`)',
      service: 's@file',
      entryPoints: ['web'],
      failClosed: {
        code: ErrorCodes.CONFIG_MIDDLEWARE_MISSING,
        message: 'router "bad@file": middleware "nope@file" is not defined',
      },
    });
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'http.routers.bad@file.middlewares'],
    ]);
    assert.match(result.errors[0]!.message, /middleware "nope@file" is not defined; the router answers 503/);
    const status = result.routers.find((r) => r.name === 'bad@file');
    assert.deepEqual([status?.status, status?.failClosed], ['disabled', true]);
    // Nobody's traffic reaches `s` through it.
    assert.deepEqual(result.services.find((x) => x.name === 's@file')?.usedBy, ['good@file']);
  });

  it('names an unknown provider qualifier', () => {
    const result = compile(
      [
        part({
          routers: { r: route('s', ['strip@kubernetes']) },
          services: { s: lb },
          middlewares: { strip },
        }),
      ],
      statics,
    );
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'http.routers.r@file.middlewares'],
    ]);
    assert.match(
      result.errors[0]!.message,
      /middleware "strip@kubernetes" is not defined: "kubernetes" is no provider/,
    );
  });

  it('leaves sections that are empty out of the body, so older bodies hash the same', () => {
    const result = compile([part({ routers: { r: route('s') }, services: { s: lb } })], statics);
    assert.deepEqual(Object.keys(result.body.http).sort(), ['routers', 'services']);
    assert.equal('accessLog' in result.body, false);
  });
});

describe('compile: chains', () => {
  it('keeps a chain whose members exist and counts its routers as users of every member', () => {
    const result = compile(
      [
        part({
          routers: { r: route('s', ['outer']) },
          services: { s: lb },
          middlewares: {
            outer: { chain: { middlewares: ['inner@file', 'strip'] } },
            inner: { chain: { middlewares: ['strip'] } },
            strip,
          },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.body.http.middlewares?.['outer@file'], {
      chain: { middlewares: ['inner@file', 'strip@file'] },
    });
    assert.deepEqual(
      result.middlewares.map((m) => [m.name, m.usedBy]),
      [
        ['inner@file', ['r@file']],
        ['outer@file', ['r@file']],
        ['strip@file', ['r@file']],
      ],
    );
  });

  it('drops a chain with a missing member; the routers using it fail closed with its code', () => {
    const result = compile(
      [
        part({
          routers: { r: route('s', ['c']) },
          services: { s: lb },
          middlewares: { c: { chain: { middlewares: ['ghost'] } } },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.body.http.routers['r@file']?.failClosed, {
      code: ErrorCodes.CONFIG_MIDDLEWARE_MISSING,
      message: 'router "r@file": middleware "c@file": chain member "ghost@file" is not defined',
    });
    assert.equal(result.body.http.middlewares, undefined);
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'http.middlewares.c@file'],
      [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'http.routers.r@file.middlewares'],
    ]);
    assert.equal(result.middlewares[0]?.status, 'disabled');
    assert.match(result.errors[1]!.message, /was dropped \(BERTH_CONFIG_MIDDLEWARE_MISSING\)/);
  });

  it('drops every chain in a cycle with MIDDLEWARE_CYCLE, and the chains that need them; their routers fail closed', () => {
    const result = compile(
      [
        part({
          routers: { r: route('s', ['a']), other: route('s', ['strip']) },
          services: { s: lb },
          middlewares: {
            a: { chain: { middlewares: ['b'] } },
            b: { chain: { middlewares: ['a@file'] } },
            self: { chain: { middlewares: ['self'] } },
            outer: { chain: { middlewares: ['strip', 'a'] } },
            strip,
          },
        }),
      ],
      statics,
    );
    assert.deepEqual(Object.keys(result.body.http.routers), ['other@file', 'r@file']);
    assert.equal(result.body.http.routers['r@file']?.failClosed?.code, ErrorCodes.CONFIG_MIDDLEWARE_CYCLE);
    assert.deepEqual(Object.keys(result.body.http.middlewares ?? {}), ['strip@file']);
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_MIDDLEWARE_CYCLE, 'http.middlewares.a@file'],
      [ErrorCodes.CONFIG_MIDDLEWARE_CYCLE, 'http.middlewares.b@file'],
      [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'http.middlewares.outer@file'],
      [ErrorCodes.CONFIG_MIDDLEWARE_CYCLE, 'http.middlewares.self@file'],
      [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'http.routers.r@file.middlewares'],
    ]);
    assert.match(result.errors[0]!.message, /"a@file", "b@file"/);
  });

  it('resolves a chain thousands deep without exhausting the stack', () => {
    const middlewares: Record<string, HttpMiddleware> = { m0: strip };
    for (let i = 1; i < 5000; i++) middlewares[`m${i}`] = { chain: { middlewares: [`m${i - 1}`] } };
    const result = compile(
      [part({ routers: { r: route('s', ['m4999']) }, services: { s: lb }, middlewares })],
      statics,
    );
    assert.deepEqual(result.errors, []);
  });
});

describe('compile: weighted and mirroring services', () => {
  it('keeps weighted and mirroring services whose children exist, names qualified, users counted through them', () => {
    const result = compile(
      [
        part({
          routers: { r: route('canary') },
          services: {
            canary: {
              weighted: {
                services: [
                  { name: 'v1@file', weight: 9 },
                  { name: 'shadow', weight: 1 },
                ],
              },
            },
            shadow: { mirroring: { service: 'v1', mirrors: [{ name: 'v2@file', percent: 5 }] } },
            v1: lb,
            v2: lb,
          },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.body.http.services['canary@file'], {
      weighted: {
        services: [
          { name: 'v1@file', weight: 9 },
          { name: 'shadow@file', weight: 1 },
        ],
      },
    });
    assert.deepEqual(result.body.http.services['shadow@file'], {
      mirroring: { service: 'v1@file', mirrors: [{ name: 'v2@file', percent: 5 }] },
    });
    assert.deepEqual(
      result.services.map((s) => [s.name, s.type, s.usedBy, s.services]),
      [
        ['canary@file', 'weighted', ['r@file'], ['v1@file', 'shadow@file']],
        ['shadow@file', 'mirroring', ['r@file'], ['v1@file', 'v2@file']],
        ['v1@file', 'loadBalancer', ['r@file'], []],
        ['v2@file', 'loadBalancer', ['r@file'], []],
      ],
    );
  });

  it('drops a weighted service with a missing child, and its router', () => {
    const result = compile(
      [part({ routers: { r: route('w') }, services: { w: { weighted: { services: [{ name: 'gone' }] } } } })],
      statics,
    );
    assert.deepEqual(result.body.http, { routers: {}, services: {} });
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_SERVICE_MISSING, 'http.services.w@file'],
      [ErrorCodes.CONFIG_SERVICE_MISSING, 'http.routers.r@file.service'],
    ]);
    assert.equal(result.services[0]?.status, 'disabled');
  });

  it('drops services that lead back to each other with SERVICE_CYCLE', () => {
    const result = compile(
      [
        part({
          routers: { r: route('a'), ok: route('v1') },
          services: {
            a: { weighted: { services: [{ name: 'b' }] } },
            b: { mirroring: { service: 'v1', mirrors: [{ name: 'a' }] } },
            v1: lb,
          },
        }),
      ],
      statics,
    );
    assert.deepEqual(Object.keys(result.body.http.routers), ['ok@file']);
    assert.deepEqual(Object.keys(result.body.http.services), ['v1@file']);
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_SERVICE_CYCLE, 'http.services.a@file'],
      [ErrorCodes.CONFIG_SERVICE_CYCLE, 'http.services.b@file'],
      [ErrorCodes.CONFIG_SERVICE_MISSING, 'http.routers.r@file.service'],
    ]);
  });
});

describe('compile: failover and highestRandomWeight services', () => {
  it('qualifies their children, counts users through them, and drops them when a child is missing', () => {
    const result = compile(
      [
        part({
          routers: { r: route('standby'), s: route('sticky'), t: route('broken') },
          services: {
            standby: { failover: { service: 'v1', fallback: 'sticky', healthCheck: {} } },
            sticky: { highestRandomWeight: { services: [{ name: 'v1', weight: 2 }, { name: 'v2@file' }] } },
            broken: { failover: { service: 'v1', fallback: 'gone' } },
            v1: lb,
            v2: lb,
          },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.body.http.services['standby@file'], {
      failover: { service: 'v1@file', fallback: 'sticky@file', healthCheck: {} },
    });
    assert.deepEqual(result.body.http.services['sticky@file'], {
      highestRandomWeight: { services: [{ name: 'v1@file', weight: 2 }, { name: 'v2@file' }] },
    });
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_SERVICE_MISSING, 'http.services.broken@file'],
      [ErrorCodes.CONFIG_SERVICE_MISSING, 'http.routers.t@file.service'],
    ]);
    assert.deepEqual(
      result.services.map((s) => [s.name, s.type, s.usedBy, s.services]),
      [
        ['broken@file', 'failover', [], ['v1@file', 'gone@file']],
        ['standby@file', 'failover', ['r@file'], ['v1@file', 'sticky@file']],
        ['sticky@file', 'highestRandomWeight', ['r@file', 's@file'], ['v1@file', 'v2@file']],
        ['v1@file', 'loadBalancer', ['r@file', 's@file'], []],
        ['v2@file', 'loadBalancer', ['r@file', 's@file'], []],
      ],
    );
  });
});

describe('compile: servers transports', () => {
  it('keeps a load balancer whose transport exists, and the transport in the body', () => {
    const transport: ServersTransport = { forwardingTimeouts: { dialTimeout: '5s' } };
    const result = compile(
      [
        part({
          routers: { r: route('s') },
          services: {
            s: { loadBalancer: { servers: [], serversTransport: 'tight@file' } },
            d: { loadBalancer: { servers: [], serversTransport: 'default@internal' } },
          },
          serversTransports: { tight: transport },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.body.http.serversTransports, { 'tight@file': transport });
    assert.equal(result.body.http.services['s@file']?.loadBalancer?.serversTransport, 'tight@file');
    assert.equal('serversTransport' in (result.body.http.services['d@file']?.loadBalancer ?? {}), false);
  });

  it('drops a service naming a missing transport with TRANSPORT_MISSING', () => {
    const result = compile(
      [
        part({
          routers: { r: route('s') },
          services: { s: { loadBalancer: { servers: [], serversTransport: 'nope' } } },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.body.http.services, {});
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_TRANSPORT_MISSING, 'http.services.s@file'],
      [ErrorCodes.CONFIG_SERVICE_MISSING, 'http.routers.r@file.service'],
    ]);
  });
});

describe('compile: entry point middlewares and static settings', () => {
  it('copies accessLog and routeRemovalGrace into the body and qualifies entry point middlewares (unqualified: file)', () => {
    const result = compile(
      [part({ routers: { r: route('s') }, services: { s: lb }, middlewares: { strip } })],
      {
        entryPoints: { web: { address: ':80', http: { middlewares: ['strip@file', 'strip'] } } },
        accessLog: { enabled: true, sampling: 0.1 },
        routeRemovalGrace: '5s',
      },
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.body.entryPoints['web'], {
      address: ':80',
      http: { middlewares: ['strip@file', 'strip@file'] },
    });
    assert.deepEqual(result.body.accessLog, { enabled: true, sampling: 0.1 });
    assert.equal(result.body.routeRemovalGrace, '5s');
    assert.deepEqual(result.middlewares[0]?.usedBy, ['r@file']);
  });

  it('reports a missing entry point middleware and disables the routers on that entry point only', () => {
    const result = compile(
      [
        part({
          routers: {
            onWeb: { ...route('s'), entryPoints: ['web'] },
            onAdmin: { ...route('s'), entryPoints: ['admin'] },
          },
          services: { s: lb },
        }),
      ],
      {
        entryPoints: { web: { address: ':80', http: { middlewares: ['ghost'] } }, admin: { address: ':81' } },
      },
    );
    assert.deepEqual(Object.keys(result.body.http.routers), ['onAdmin@file']);
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'entryPoints.web.http.middlewares'],
      [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'http.routers.onWeb@file.entryPoints'],
    ]);
    assert.deepEqual(result.body.entryPoints['web']?.http?.middlewares, []);
  });
});

describe('compile: determinism with middlewares and transports', () => {
  it('gives the same hash, errors and statuses whatever order parts and names come in', () => {
    const a = part(
      {
        routers: { z: route('w', ['c']), y: route('s', ['loop']) },
        middlewares: { c: { chain: { middlewares: ['strip'] } }, loop: { chain: { middlewares: ['loop'] } } },
        serversTransports: { t: { maxConnsPerHost: 5 } },
      },
      '/a.yml',
    );
    const b = part(
      {
        services: {
          w: { weighted: { services: [{ name: 's' }, { name: 'x' }] } },
          s: { loadBalancer: { servers: [], serversTransport: 't' } },
          x: lb,
        },
        middlewares: { strip },
      },
      '/b.yml',
    );
    const one = compile([a, b], statics);
    const two = compile([b, a], statics);
    assert.equal(hashBody(one.body), hashBody(two.body));
    assert.deepEqual(one.errors, two.errors);
    assert.deepEqual(one.middlewares, two.middlewares);
    assert.deepEqual(one.services, two.services);
    assert.deepEqual(Object.keys(one.body.http.routers), ['y@file', 'z@file']);
    assert.equal(one.body.http.routers['y@file']?.failClosed?.code, ErrorCodes.CONFIG_MIDDLEWARE_CYCLE);
  });

  it('drops a middleware defined differently by two sources; the routers using it fail closed', () => {
    const result = compile(
      [
        part({ routers: { r: route('s', ['m']) }, services: { s: lb }, middlewares: { m: strip } }, '/a.yml'),
        part({ middlewares: { m: { addPrefix: { prefix: '/x' } } } }, '/b.yml'),
      ],
      statics,
    );
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_CONFLICT, 'http.middlewares.m@file'],
      [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'http.routers.r@file.middlewares'],
    ]);
    assert.match(result.errors[1]!.message, /conflict/);
    assert.equal(result.middlewares[0]?.status, 'disabled');
    assert.equal(result.body.http.routers['r@file']?.failClosed?.code, ErrorCodes.CONFIG_MIDDLEWARE_MISSING);
  });
});
