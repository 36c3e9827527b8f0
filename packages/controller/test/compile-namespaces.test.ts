// Unit tests for provider namespaces: every element is `name@provider`, as in Traefik; an unqualified
// reference resolves in the referencing element's provider, a qualified one in the provider it names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamicConfig, HttpService, Source, StaticConfig, TcpService } from '@berth/config';
import { routersView } from '../src/api/routers-view.js';
import { compile } from '../src/compiler/compile.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

const statics: StaticConfig = { entryPoints: { web: { address: ':80' }, tcp: { address: ':5432' } } };
const lb = (url: string): HttpService => ({ loadBalancer: { servers: [{ url }] } });
const tcpLb: TcpService = { loadBalancer: { servers: [{ address: '10.0.0.5:5432' }] } };

function filePart(
  config: Partial<DynamicConfig['http']>,
  extra: Omit<DynamicConfig, 'http'> = {},
): ProviderPart {
  return {
    sourceKey: '/etc/berth/dynamic.yml',
    provider: 'file',
    config: { http: { routers: {}, services: {}, ...config }, ...extra },
    errors: [],
  };
}

function dockerPart(
  container: string,
  config: Partial<DynamicConfig['http']>,
  extra: Omit<DynamicConfig, 'http'> = {},
): ProviderPart {
  return {
    sourceKey: `docker/${container}`,
    provider: 'docker',
    config: { http: { routers: {}, services: {}, ...config }, ...extra },
    errors: [],
  };
}

const codes = (result: ReturnType<typeof compile>) => result.errors.map((e) => [e.code, e.path]);

describe('compile: provider namespaces', () => {
  it('keeps a router of the same name from a file and from a label as two routers, no conflict', () => {
    const result = compile(
      [
        filePart({
          routers: { web: { rule: 'Host(`file.test`)', service: 'app' } },
          services: { app: lb('http://10.0.0.1') },
        }),
        dockerPart('whoami', {
          routers: { web: { rule: 'Host(`docker.test`)', service: 'app' } },
          services: { app: lb('http://10.0.0.2') },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.body.http.routers, {
      'web@docker': { rule: 'Host(`docker.test`)', service: 'app@docker', entryPoints: ['tcp', 'web'] },
      'web@file': { rule: 'Host(`file.test`)', service: 'app@file', entryPoints: ['tcp', 'web'] },
    });
    // Unqualified `app` resolves in each router's own provider.
    assert.deepEqual(result.body.http.services['app@docker'], lb('http://10.0.0.2'));
    assert.deepEqual(result.body.http.services['app@file'], lb('http://10.0.0.1'));
    assert.deepEqual(
      result.routers.map((r) => [r.name, r.service, r.status]),
      [
        ['web@docker', 'app@docker', 'enabled'],
        ['web@file', 'app@file', 'enabled'],
      ],
    );
    assert.deepEqual(
      result.services.map((s) => [s.name, s.usedBy]),
      [
        ['app@docker', ['web@docker']],
        ['app@file', ['web@file']],
      ],
    );
  });

  it('still merges or conflicts two definitions of one name within one provider', () => {
    const same = { rule: 'Host(`a.test`)', service: 'app' };
    const agreed = compile(
      [
        dockerPart('a', { routers: { web: same }, services: { app: lb('http://10.0.0.1') } }),
        dockerPart('b', { routers: { web: { ...same } } }),
      ],
      statics,
    );
    assert.deepEqual(agreed.errors, []);
    assert.deepEqual(Object.keys(agreed.body.http.routers), ['web@docker']);
    const differing = compile(
      [
        dockerPart('a', { routers: { web: same }, services: { app: lb('http://10.0.0.1') } }),
        dockerPart('b', { routers: { web: { ...same, rule: 'Host(`b.test`)' } } }),
      ],
      statics,
    );
    assert.deepEqual(codes(differing), [[ErrorCodes.CONFIG_CONFLICT, 'http.routers.web@docker']]);
  });

  it('resolves `auth@file` from a label in the file provider, and not an unqualified `auth`', () => {
    const result = compile(
      [
        filePart({
          middlewares: { auth: { basicAuth: { users: ['u:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='] } } },
        }),
        dockerPart('app', {
          routers: {
            good: { rule: 'Host(`a.test`)', service: 'app', middlewares: ['auth@file'] },
            bare: { rule: 'Host(`b.test`)', service: 'app', middlewares: ['auth'] },
          },
          services: { app: lb('http://10.0.0.1') },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.body.http.routers['good@docker']?.middlewares, ['auth@file']);
    assert.deepEqual(Object.keys(result.body.http.middlewares ?? {}), ['auth@file']);
    assert.deepEqual(codes(result), [
      [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'http.routers.bare@docker.middlewares'],
    ]);
    assert.match(result.errors[0]!.message, /router "bare@docker": middleware "auth@docker" is not defined/);
    assert.deepEqual(result.middlewares[0]?.usedBy, ['good@docker']);
  });

  it('resolves `x@docker` from a file in the Docker provider: services, chains, weighted children, TCP', () => {
    const result = compile(
      [
        filePart(
          {
            routers: { edge: { rule: 'Host(`e.test`)', service: 'split', middlewares: ['both'] } },
            services: {
              split: { weighted: { services: [{ name: 'x@docker', weight: 1 }, { name: 'local' }] } },
              local: lb('http://10.0.0.9'),
            },
            middlewares: { both: { chain: { middlewares: ['strip@docker'] } } },
          },
          {
            tcp: {
              routers: { db: { rule: 'HostSNI(`*`)', service: 'pg@docker', entryPoints: ['tcp'] } },
              services: {},
            },
          },
        ),
        dockerPart(
          'x',
          {
            services: { x: lb('http://10.0.0.2') },
            middlewares: { strip: { stripPrefix: { prefixes: ['/x'] } } },
          },
          { tcp: { routers: {}, services: { pg: tcpLb } } },
        ),
      ],
      statics,
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.body.http.services['split@file'], {
      weighted: { services: [{ name: 'x@docker', weight: 1 }, { name: 'local@file' }] },
    });
    assert.deepEqual(result.body.http.middlewares?.['both@file'], {
      chain: { middlewares: ['strip@docker'] },
    });
    assert.equal(result.body.tcp?.routers['db@file']?.service, 'pg@docker');
    assert.deepEqual(result.body.tcp?.services['pg@docker'], tcpLb);
  });

  it('resolves servers transports and TLS options across providers; built-in options stay unqualified', () => {
    const result = compile(
      [
        filePart(
          { serversTransports: { tight: { maxConnsPerHost: 5 } } },
          { tls: { options: { mtls: { minVersion: 'VersionTLS13' } } } },
        ),
        dockerPart('app', {
          routers: {
            a: { rule: 'Host(`a.test`)', service: 'app', tls: { options: 'mtls@file' } },
            b: { rule: 'Host(`b.test`)', service: 'app', tls: { options: 'strict' } },
            c: { rule: 'Host(`c.test`)', service: 'app', tls: { options: 'mtls' } },
          },
          services: {
            app: { loadBalancer: { servers: [{ url: 'http://10.0.0.1' }], serversTransport: 'tight@file' } },
          },
        }),
      ],
      statics,
    );
    assert.equal(result.body.http.routers['a@docker']?.tls?.options, 'mtls@file');
    assert.equal(result.body.http.routers['b@docker']?.tls?.options, 'strict');
    assert.equal(result.body.http.services['app@docker']?.loadBalancer?.serversTransport, 'tight@file');
    assert.deepEqual(Object.keys(result.body.http.serversTransports ?? {}), ['tight@file']);
    // `mtls` from a label is `mtls@docker`, which nobody defines.
    assert.deepEqual(codes(result), [[ErrorCodes.TLS_OPTIONS_MISSING, 'http.routers.c@docker.tls.options']]);
    assert.match(result.errors[0]!.message, /TLS options "mtls@docker" are not defined/);
  });

  it('names a reference to an unknown provider, whatever kind it is', () => {
    const result = compile(
      [
        filePart({
          routers: {
            mw: { rule: 'Host(`a.test`)', service: 'app', middlewares: ['auth@foo'] },
            svc: { rule: 'Host(`b.test`)', service: 'app@kubernetes' },
            opts: { rule: 'Host(`c.test`)', service: 'app', tls: { options: 'mtls@bar' } },
          },
          services: {
            app: lb('http://10.0.0.1'),
            w: { weighted: { services: [{ name: 'x@nope' }] } },
            t: { loadBalancer: { servers: [], serversTransport: 'tr@baz' } },
          },
        }),
      ],
      statics,
    );
    const message = (path: string) => result.errors.find((e) => e.path === path)?.message ?? '';
    assert.match(
      message('http.routers.mw@file.middlewares'),
      /router "mw@file": middleware "auth@foo" is not defined: "foo" is no provider \(providers: docker, file, internal, swarm\)/,
    );
    assert.match(
      message('http.routers.svc@file.service'),
      /service "app@kubernetes" is not defined: "kubernetes" is no provider/,
    );
    assert.match(
      message('http.routers.opts@file.tls.options'),
      /TLS options "mtls@bar" are not defined: "bar" is no provider/,
    );
    assert.match(
      message('http.services.w@file'),
      /child service "x@nope" is not defined: "nope" is no provider/,
    );
    assert.match(
      message('http.services.t@file'),
      /servers transport "tr@baz" is not defined: "baz" is no provider/,
    );
  });

  it('drops an element whose own name contains "@", naming it', () => {
    const result = compile(
      [
        filePart({
          routers: { 'web@docker': { rule: 'Host(`a.test`)', service: 'app' } },
          services: { app: lb('http://10.0.0.1') },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.body.http.routers, {});
    assert.deepEqual(codes(result), [[ErrorCodes.CONFIG_NAME_INVALID, 'http.routers.web@docker']]);
    assert.match(result.errors[0]!.message, /router "web@docker": a name cannot contain "@"/);
  });

  it('takes the provider from the sources when a part does not name one', () => {
    const source: Source = { provider: 'docker', origin: 'whoami', label: 'traefik.http.routers.web.rule' };
    const part: ProviderPart = {
      sourceKey: 'docker/whoami',
      config: {
        http: {
          routers: { web: { rule: 'Host(`a.test`)', service: 'app' } },
          services: { app: lb('http://10.0.0.1') },
        },
      },
      errors: [],
      sources: { routers: { web: source }, services: {} },
    };
    const result = compile([part], statics);
    assert.deepEqual(Object.keys(result.body.http.routers), ['web@docker']);
    assert.deepEqual(result.routers[0]?.source, source);
  });

  it('attaches a provider error (which names the element as written) to the element of that provider only', () => {
    const bad: ProviderPart = dockerPart('app', { services: { app: lb('http://10.0.0.1') } });
    bad.errors.push({
      code: 'BERTH_CONFIG_RULE_SYNTAX',
      path: 'http.routers.web.rule',
      message: 'bad rule',
      source: { provider: 'docker', origin: 'app', label: 'traefik.http.routers.web.rule' },
    });
    const result = compile(
      [
        filePart({
          routers: { web: { rule: 'Host(`a.test`)', service: 'app' } },
          services: { app: lb('http://10.0.0.1') },
        }),
        bad,
      ],
      statics,
    );
    assert.deepEqual(
      result.routers.map((r) => [r.name, r.errors.length]),
      [['web@file', 0]],
    );
    // The API shows the dropped Docker router under its qualified name, beside the file's.
    assert.deepEqual(
      routersView(result.routers, result.errors).map((r) => [r.name, r.status]),
      [
        ['web@docker', 'error'],
        ['web@file', 'enabled'],
      ],
    );
  });
});

describe('compile: tls.certResolver', () => {
  it('keeps the router and its certResolver in the body for the ACME side (acme-snapshot.test.ts) to resolve', () => {
    const source: Source = {
      provider: 'docker',
      origin: 'blog',
      label: 'traefik.http.routers.blog.tls.certresolver',
    };
    const part = dockerPart('blog', {
      routers: { blog: { rule: 'Host(`blog.test`)', service: 'blog', tls: { certResolver: 'letsencrypt' } } },
      services: { blog: lb('http://10.0.0.1') },
    });
    part.sources = { routers: { blog: source }, services: {} };
    const result = compile([part], statics);
    assert.deepEqual(result.errors, []);
    assert.equal(result.body.http.routers['blog@docker']?.tls?.certResolver, 'letsencrypt');
    assert.equal(result.routers[0]?.status, 'enabled');
    assert.deepEqual(result.routers[0]?.source, source);
  });
});
