// Unit tests for the compiler's TCP section and TLS references: merge, conflicts, missing targets, redirections.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  DynamicConfig,
  HttpRouter,
  HttpService,
  StaticConfig,
  TcpConfig,
  TlsConfig,
} from '@berth/config';
import { hashBody } from '@berth/protocol';
import { compile } from '../src/compiler/compile.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

const statics: StaticConfig = {
  entryPoints: { web: { address: ':80' }, websecure: { address: ':443' }, ssh: { address: ':2222' } },
};
const lb: HttpService = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } };

function part(
  config: { http?: Partial<DynamicConfig['http']>; tcp?: Partial<TcpConfig>; tls?: TlsConfig },
  sourceKey = '/a.yml',
): ProviderPart {
  const out: DynamicConfig = { http: { routers: {}, services: {}, ...config.http } };
  if (config.tcp !== undefined) out.tcp = { routers: {}, services: {}, ...config.tcp };
  if (config.tls !== undefined) out.tls = config.tls;
  return { sourceKey, config: out, errors: [] };
}

const tcpService = { loadBalancer: { servers: [{ address: '127.0.0.1:22' }] } };

function codes(result: ReturnType<typeof compile>): Array<[string, string]> {
  return result.errors.map((e) => [e.code, e.path]);
}

describe('compile: TCP', () => {
  it('puts valid TCP routers and services into the body, on every entry point when none is named', () => {
    const result = compile(
      [
        part({
          tcp: {
            routers: { git: { rule: 'HostSNI(`*`)', service: 'git@file' } },
            services: { git: tcpService },
          },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.body.tcp?.routers['git@file'], {
      rule: 'HostSNI(`*`)',
      service: 'git@file',
      entryPoints: ['ssh', 'web', 'websecure'],
    });
    assert.deepEqual(result.tcpRouters[0]?.status, 'enabled');
    assert.deepEqual(result.tcpRouters[0]?.tls, 'none');
    assert.deepEqual(result.tcpServices[0]?.usedBy, ['git@file']);
    assert.deepEqual(result.tcpServices[0]?.servers, ['127.0.0.1:22']);
  });

  it('leaves tcp and tls out of the body when there are none, so old hashes stay', () => {
    const http = { routers: { r: { rule: 'Host(`a`)', service: 's' } }, services: { s: lb } };
    const plain = compile([part({ http })], statics);
    const withEmptyTcp = compile([part({ http, tcp: {} })], statics);
    assert.equal('tcp' in plain.body, false);
    assert.equal('tls' in plain.body, false);
    assert.equal(hashBody(plain.body), hashBody(withEmptyTcp.body));
  });

  it('drops a TCP router defined differently by two sources, naming both', () => {
    const a = part(
      { tcp: { routers: { db: { rule: 'HostSNI(`*`)', service: 'db' } }, services: { db: tcpService } } },
      '/a.yml',
    );
    const b = part({ tcp: { routers: { db: { rule: 'HostSNI(`db.test`)', service: 'db' } } } }, '/b.yml');
    const result = compile([b, a], statics);
    assert.deepEqual(codes(result), [[ErrorCodes.CONFIG_CONFLICT, 'tcp.routers.db@file']]);
    assert.match(result.errors[0]!.message, /\/a\.yml and \/b\.yml/);
    assert.equal(result.body.tcp?.routers.db, undefined);
    assert.equal(result.tcpRouters[0]?.status, 'disabled');
    // The service still exists, unused.
    assert.ok(result.body.tcp?.services['db@file']);
  });

  it('disables only the TCP routers whose service, entry point, middleware or TLS options are missing', () => {
    const result = compile(
      [
        part({
          tcp: {
            routers: {
              good: { rule: 'HostSNI(`a`)', service: 's', tls: { options: 'modern' } },
              noService: { rule: 'HostSNI(`b`)', service: 'nope' },
              noEntryPoint: { rule: 'HostSNI(`c`)', service: 's', entryPoints: ['imap'] },
              noMiddleware: { rule: 'HostSNI(`d`)', service: 's', middlewares: ['limit'] },
              noOptions: { rule: 'HostSNI(`e`)', service: 's', tls: { options: 'ancient' } },
              passthrough: { rule: 'HostSNI(`f`)', service: 's', tls: { passthrough: true } },
            },
            services: { s: tcpService },
          },
          tls: { options: { modern: { minVersion: 'VersionTLS13' } } },
        }),
      ],
      statics,
    );
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_ENTRYPOINT_MISSING, 'tcp.routers.noEntryPoint@file.entryPoints'],
      [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'tcp.routers.noMiddleware@file.middlewares'],
      [ErrorCodes.TLS_OPTIONS_MISSING, 'tcp.routers.noOptions@file.tls.options'],
      [ErrorCodes.CONFIG_SERVICE_MISSING, 'tcp.routers.noService@file.service'],
    ]);
    assert.deepEqual(Object.keys(result.body.tcp?.routers ?? {}).sort(), ['good@file', 'passthrough@file']);
    const byName = new Map(result.tcpRouters.map((r) => [r.name.replace(/@file$/, ''), r]));
    assert.equal(byName.get('good')?.tls, 'terminate');
    assert.equal(byName.get('good')?.tlsOptions, 'modern@file');
    assert.equal(byName.get('passthrough')?.tls, 'passthrough');
    assert.equal(byName.get('noService')?.status, 'disabled');
  });

  it('drops a weighted TCP service whose child is missing, and the routers that use it', () => {
    const result = compile(
      [
        part({
          tcp: {
            routers: { r: { rule: 'HostSNI(`*`)', service: 'split' } },
            services: {
              split: { weighted: { services: [{ name: 'a' }, { name: 'ghost', weight: 2 }] } },
              a: tcpService,
            },
          },
        }),
      ],
      statics,
    );
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_SERVICE_MISSING, 'tcp.services.split@file'],
      [ErrorCodes.CONFIG_SERVICE_MISSING, 'tcp.routers.r@file.service'],
    ]);
    assert.match(result.errors[0]!.message, /child service "ghost@file" is not defined/);
    assert.deepEqual(Object.keys(result.body.tcp?.services ?? {}), ['a@file']);
  });

  it("checks a TCP load balancer's servers transport", () => {
    const result = compile(
      [
        part({
          tcp: {
            routers: {},
            services: {
              ok: { loadBalancer: { servers: [{ address: '127.0.0.1:1' }], serversTransport: 'pp@file' } },
              bad: { loadBalancer: { servers: [{ address: '127.0.0.1:1' }], serversTransport: 'nope' } },
            },
            serversTransports: { pp: { proxyProtocol: { version: 2 } } },
          },
        }),
      ],
      statics,
    );
    assert.deepEqual(codes(result), [[ErrorCodes.CONFIG_TRANSPORT_MISSING, 'tcp.services.bad@file']]);
    assert.equal(result.body.tcp?.services['ok@file']?.loadBalancer?.serversTransport, 'pp@file');
  });

  it('attaches validation errors from providers to the TCP router they name', () => {
    const p = part({
      tcp: { routers: { r: { rule: 'HostSNI(`*`)', service: 's' } }, services: { s: tcpService } },
    });
    p.errors.push({
      code: 'BERTH_CONFIG_UNKNOWN_FIELD',
      path: 'tcp.routers.r.tls.foo',
      message: 'unknown field',
    });
    const result = compile([p], statics);
    assert.deepEqual(
      result.tcpRouters[0]?.errors.map((e) => e.code),
      ['BERTH_CONFIG_UNKNOWN_FIELD'],
    );
  });
});

describe('compile: TLS references of HTTP routers and entry points', () => {
  const route = (tls?: HttpRouter['tls']): HttpRouter =>
    tls === undefined ? { rule: 'Host(`a`)', service: 's' } : { rule: 'Host(`a`)', service: 's', tls };

  it('accepts the built-in options and user options, and rejects unknown ones', () => {
    const result = compile(
      [
        part({
          http: {
            routers: {
              builtinDefault: route({}),
              strict: route({ options: 'strict' }),
              compatible: route({ options: 'compatible@internal' }),
              mine: route({ options: 'mine@file' }),
              unknown: route({ options: 'nope' }),
            },
            services: { s: lb },
          },
          tls: { options: { mine: { minVersion: 'VersionTLS12' } } },
        }),
      ],
      statics,
    );
    assert.deepEqual(codes(result), [
      [ErrorCodes.TLS_OPTIONS_MISSING, 'http.routers.unknown@file.tls.options'],
    ]);
    assert.equal(result.body.http.routers['mine@file']?.tls?.options, 'mine@file');
    assert.equal(result.body.http.routers['compatible@file']?.tls?.options, 'compatible');
    assert.equal(result.body.http.routers['strict@file']?.tls?.options, 'strict');
  });

  it('drops TLS options defined differently by two sources, and the routers that name them', () => {
    const result = compile(
      [
        part(
          {
            http: { routers: { r: route({ options: 'mine' }) }, services: { s: lb } },
            tls: { options: { mine: { minVersion: 'VersionTLS12' } } },
          },
          '/a.yml',
        ),
        part({ tls: { options: { mine: { minVersion: 'VersionTLS13' } } } }, '/b.yml'),
      ],
      statics,
    );
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_CONFLICT, 'tls.options.mine@file'],
      [ErrorCodes.TLS_OPTIONS_MISSING, 'http.routers.r@file.tls.options'],
    ]);
    assert.match(result.errors[1]!.message, /were dropped because their definitions conflict/);
  });

  it('says so when TLS options were dropped because a file they need is unreadable', () => {
    const p = part({ http: { routers: { r: route({ options: 'mtls' }) }, services: { s: lb } } });
    p.errors.push({
      code: 'BERTH_FILE_REFERENCE',
      path: 'tls.options.mtls.clientAuth.caFiles.0',
      message: 'cannot read /etc/ca.pem',
    });
    const result = compile([p], statics);
    assert.match(
      result.errors.find((e) => e.path === 'http.routers.r@file.tls.options')!.message,
      /TLS options "mtls@file" were dropped \(BERTH_FILE_REFERENCE\)/,
    );
  });

  it('drops a redirection to an undeclared entry point and keeps ":port" and declared targets', () => {
    const withRedirects: StaticConfig = {
      entryPoints: {
        web: { address: ':80', http: { redirections: { entryPoint: { to: 'websecure' } } } },
        alt: { address: ':8080', http: { redirections: { entryPoint: { to: ':8443', scheme: 'https' } } } },
        bad: { address: ':8081', http: { redirections: { entryPoint: { to: 'nowhere' } } } },
        websecure: { address: ':443', http: { tls: {} } },
      },
    };
    const result = compile([part({ http: { routers: { r: route() }, services: { s: lb } } })], withRedirects);
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_ENTRYPOINT_MISSING, 'entryPoints.bad.http.redirections.entryPoint.to'],
    ]);
    assert.equal(result.body.entryPoints.bad?.http?.redirections, undefined);
    assert.equal(result.body.entryPoints.bad?.address, ':8081');
    assert.equal(result.body.entryPoints.web?.http?.redirections?.entryPoint?.to, 'websecure');
    assert.equal(result.body.entryPoints.alt?.http?.redirections?.entryPoint?.to, ':8443');
    assert.equal(result.body.http.routers['r@file']?.entryPoints?.length, 4);
  });

  it('disables the HTTP routers of an entry point whose http.tls.options are missing', () => {
    const eps: StaticConfig = {
      entryPoints: {
        web: { address: ':80' },
        websecure: { address: ':443', http: { tls: { options: 'missing' } } },
      },
    };
    const result = compile(
      [
        part({
          http: {
            routers: {
              plain: { rule: 'Host(`a`)', service: 's', entryPoints: ['web'] },
              secure: { rule: 'Host(`a`)', service: 's', entryPoints: ['websecure'] },
            },
            services: { s: lb },
          },
        }),
      ],
      eps,
    );
    assert.deepEqual(codes(result), [
      [ErrorCodes.TLS_OPTIONS_MISSING, 'entryPoints.websecure.http.tls.options'],
      [ErrorCodes.TLS_OPTIONS_MISSING, 'http.routers.secure@file.entryPoints'],
    ]);
    assert.deepEqual(Object.keys(result.body.http.routers), ['plain@file']);
  });
});
