// Specifies how raw dynamic configuration is validated, normalised and reported.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfigError, type Source, validateDynamic } from '../src/index.js';

const router = { rule: 'Host(`a.com`)', service: 'api' };
const service = { loadBalancer: { servers: [{ url: 'http://10.0.0.2:8080' }] } };

function codes(errors: readonly ConfigError[]): string[] {
  return errors.map((e) => e.code);
}

function only(errors: readonly ConfigError[]): ConfigError {
  assert.equal(errors.length, 1, JSON.stringify(errors, null, 2));
  return errors[0]!;
}

describe('validateDynamic on valid input', () => {
  it('passes a complete configuration through unchanged', () => {
    const raw = {
      http: {
        routers: {
          web: {
            rule: 'Host(`a.com`) && PathPrefix(`/api`)',
            service: 'api',
            entryPoints: ['web', 'websecure'],
            middlewares: ['auth'],
            priority: 10,
          },
        },
        services: {
          api: {
            loadBalancer: {
              servers: [{ url: 'http://10.0.0.2:8080', weight: 3 }, { url: 'https://backend.internal' }],
              passHostHeader: false,
            },
          },
        },
      },
    };
    assert.deepEqual(validateDynamic(raw), { config: raw, errors: [] });
  });

  it('treats an empty document, and null or missing sections, as empty configuration', () => {
    const empty = { http: { routers: {}, services: {} } };
    for (const raw of [
      null,
      undefined,
      {},
      { http: null },
      { http: {} },
      { http: { routers: null, services: null } },
    ]) {
      assert.deepEqual(validateDynamic(raw), { config: empty, errors: [] }, JSON.stringify(raw));
    }
  });

  it('matches keys case-insensitively and normalises them to the canonical names', () => {
    const raw = {
      HTTP: {
        Routers: { web: { RULE: 'Host(`a.com`)', Service: 'api', entrypoints: ['web'], PRIORITY: 1 } },
        services: {
          api: { loadbalancer: { SERVERS: [{ URL: 'http://a:1', Weight: 2 }], passhostheader: true } },
        },
      },
    };
    assert.deepEqual(validateDynamic(raw), {
      config: {
        http: {
          routers: { web: { rule: 'Host(`a.com`)', service: 'api', entryPoints: ['web'], priority: 1 } },
          services: {
            api: { loadBalancer: { servers: [{ url: 'http://a:1', weight: 2 }], passHostHeader: true } },
          },
        },
      },
      errors: [],
    });
  });

  it('keeps router and service names exactly as written, so Web and web are two routers', () => {
    const { config, errors } = validateDynamic({ http: { routers: { Web: router, web: router } } });
    assert.deepEqual(errors, []);
    assert.deepEqual(Object.keys(config.http.routers), ['Web', 'web']);
  });

  it('accepts the string forms Docker labels produce', () => {
    const { config, errors } = validateDynamic({
      http: {
        routers: { web: { ...router, entryPoints: 'web, websecure', middlewares: 'auth', priority: '42' } },
        services: {
          api: { loadBalancer: { servers: [{ url: 'http://a:1', weight: '5' }], passHostHeader: 'False' } },
        },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.http.routers['web'], {
      ...router,
      entryPoints: ['web', 'websecure'],
      middlewares: ['auth'],
      priority: 42,
    });
    assert.deepEqual(config.http.services['api'], {
      loadBalancer: { servers: [{ url: 'http://a:1', weight: 5 }], passHostHeader: false },
    });
  });

  it('leaves optional fields out rather than setting them to undefined', () => {
    const { config } = validateDynamic({ http: { routers: { web: router }, services: { api: service } } });
    assert.deepEqual(Object.keys(config.http.routers['web']!), ['rule', 'service']);
    assert.deepEqual(Object.keys(config.http.services['api']!.loadBalancer ?? {}), ['servers']);
  });

  it('accepts a service with no servers, or with the list left out', () => {
    const { config, errors } = validateDynamic({
      http: { services: { a: { loadBalancer: { servers: [] } }, b: { loadBalancer: {} } } },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.http.services, {
      a: { loadBalancer: { servers: [] } },
      b: { loadBalancer: { servers: [] } },
    });
  });

  it('keeps a name like __proto__ as an ordinary key', () => {
    const raw = JSON.parse(
      '{"http":{"routers":{"__proto__":{"rule":"Path(`/`)","service":"s"}}}}',
    ) as unknown;
    const { config, errors } = validateDynamic(raw);
    assert.deepEqual(errors, []);
    assert.ok(Object.hasOwn(config.http.routers, '__proto__'));
    assert.equal(Object.getPrototypeOf(config.http.routers), Object.prototype);
  });
});

describe('validateDynamic element-level errors', () => {
  it('drops only the broken router and keeps its siblings', () => {
    const { config, errors } = validateDynamic({
      http: { routers: { good: router, bad: { rule: 'Host(`a.com`', service: 'api' }, alsoGood: router } },
    });
    assert.deepEqual(Object.keys(config.http.routers), ['good', 'alsoGood']);
    const error = only(errors);
    assert.equal(error.code, 'BERTH_CONFIG_RULE_SYNTAX');
    assert.equal(error.path, 'http.routers.bad.rule');
    assert.match(error.message, /router 'bad'/);
    assert.match(error.message, /expected '\)' at column 13, found end of rule/);
  });

  it('drops only the broken service and keeps its siblings', () => {
    const { config, errors } = validateDynamic({
      http: { services: { api: service, bad: { loadBalancer: { servers: [{ url: 'not a url' }] } } } },
    });
    assert.deepEqual(Object.keys(config.http.services), ['api']);
    assert.equal(only(errors).code, 'BERTH_CONFIG_INVALID_URL');
    assert.equal(only(errors).path, 'http.services.bad.loadBalancer.servers.0.url');
  });

  it('reports every problem of an element at once', () => {
    const { errors } = validateDynamic({
      http: { routers: { web: { rule: 5, priority: -1, colour: 'red' } } },
    });
    assert.deepEqual(codes(errors).sort(), [
      'BERTH_CONFIG_INVALID_TYPE',
      'BERTH_CONFIG_INVALID_TYPE',
      'BERTH_CONFIG_REQUIRED',
      'BERTH_CONFIG_UNKNOWN_FIELD',
    ]);
  });

  it('passes on the rule codes and columns from the rule parser', () => {
    const cases = [
      ['host(`a.com`)', 'BERTH_CONFIG_RULE_UNKNOWN_MATCHER', /did you mean 'Host'\?/],
      ['Host()', 'BERTH_CONFIG_RULE_ARGS', /at column 1/],
      ['Path(`/`) && (', 'BERTH_CONFIG_RULE_SYNTAX', /at column 15, found end of rule/],
      ['Path(`/`) Host(`a`)', 'BERTH_CONFIG_RULE_SYNTAX', /at column 11/],
    ] as const;
    for (const [rule, code, message] of cases) {
      const error = only(validateDynamic({ http: { routers: { web: { rule, service: 'api' } } } }).errors);
      assert.equal(error.code, code, rule);
      assert.equal(error.path, 'http.routers.web.rule');
      assert.match(error.message, message);
    }
  });

  it('requires rule and service on a router', () => {
    const { config, errors } = validateDynamic({ http: { routers: { web: { entryPoints: ['web'] } } } });
    assert.deepEqual(config.http.routers, {});
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [
        ['BERTH_CONFIG_REQUIRED', 'http.routers.web.rule'],
        ['BERTH_CONFIG_REQUIRED', 'http.routers.web.service'],
      ],
    );
  });

  it('treats an empty or null rule or service as missing', () => {
    for (const blank of ['', '  ', null]) {
      const noService = validateDynamic({
        http: { routers: { web: { rule: 'Path(`/`)', service: blank } } },
      });
      assert.deepEqual(
        [only(noService.errors).code, only(noService.errors).path],
        ['BERTH_CONFIG_REQUIRED', 'http.routers.web.service'],
      );
      const noRule = validateDynamic({ http: { routers: { web: { rule: blank, service: 'api' } } } });
      assert.deepEqual(
        [only(noRule.errors).code, only(noRule.errors).path],
        ['BERTH_CONFIG_REQUIRED', 'http.routers.web.rule'],
      );
    }
  });

  it('requires a url on every server', () => {
    const error = only(
      validateDynamic({ http: { services: { api: { loadBalancer: { servers: [{ weight: 1 }] } } } } }).errors,
    );
    assert.equal(error.code, 'BERTH_CONFIG_REQUIRED');
    assert.equal(error.path, 'http.services.api.loadBalancer.servers.0.url');
  });

  it('requires a service to set one kind', () => {
    const error = only(validateDynamic({ http: { services: { api: {} } } }).errors);
    assert.deepEqual([error.code, error.path], ['BERTH_CONFIG_SERVICE_KIND', 'http.services.api']);
  });

  it('accepts only absolute http, https and h2c server URLs with a host', () => {
    const bad = [
      '10.0.0.2:8080',
      '/relative',
      'ftp://a.com',
      'unix:/var/run/x.sock',
      'http://',
      'h2c://',
      'not a url',
    ];
    for (const url of bad) {
      const error = only(
        validateDynamic({ http: { services: { api: { loadBalancer: { servers: [{ url }] } } } } }).errors,
      );
      assert.equal(error.code, 'BERTH_CONFIG_INVALID_URL', url);
    }
    for (const url of [
      'http://a',
      'https://a.com:8443/base',
      'http://[::1]:80',
      'HTTP://A.COM',
      'h2c://grpc:50051',
    ]) {
      assert.deepEqual(
        validateDynamic({ http: { services: { api: { loadBalancer: { servers: [{ url }] } } } } }).errors,
        [],
        url,
      );
    }
  });

  it('rejects values of the wrong type with INVALID_TYPE at the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ routers: { web: { ...router, entryPoints: 5 } } }, 'http.routers.web.entryPoints'],
      [{ routers: { web: { ...router, entryPoints: ['web', 7] } } }, 'http.routers.web.entryPoints.1'],
      [{ routers: { web: { ...router, middlewares: { a: 1 } } } }, 'http.routers.web.middlewares'],
      [{ routers: { web: { ...router, priority: 1.5 } } }, 'http.routers.web.priority'],
      [{ routers: { web: { ...router, priority: '-3' } } }, 'http.routers.web.priority'],
      [{ routers: { web: { ...router, service: ['api'] } } }, 'http.routers.web.service'],
      [{ routers: { web: 'Host(`a`)' } }, 'http.routers.web'],
      [{ routers: { web: null } }, 'http.routers.web'],
      [{ routers: [router] }, 'http.routers'],
      [{ services: { api: { loadBalancer: [] } } }, 'http.services.api.loadBalancer'],
      [
        { services: { api: { loadBalancer: { servers: { url: 'http://a' } } } } },
        'http.services.api.loadBalancer.servers',
      ],
      [
        { services: { api: { loadBalancer: { servers: ['http://a'] } } } },
        'http.services.api.loadBalancer.servers.0',
      ],
      [
        { services: { api: { loadBalancer: { servers: [{ url: 'http://a', weight: -1 }] } } } },
        'http.services.api.loadBalancer.servers.0.weight',
      ],
      [
        { services: { api: { loadBalancer: { servers: [], passHostHeader: 'yes' } } } },
        'http.services.api.loadBalancer.passHostHeader',
      ],
    ];
    for (const [http, path] of cases) {
      const error = only(validateDynamic({ http }).errors);
      assert.deepEqual([error.code, error.path], ['BERTH_CONFIG_INVALID_TYPE', path]);
    }
  });

  it('reports an unknown field by name, lists the valid ones, and drops the element', () => {
    const { config, errors } = validateDynamic({ http: { routers: { web: { ...router, servce: 'x' } } } });
    assert.deepEqual(config.http.routers, {});
    const error = only(errors);
    assert.equal(error.code, 'BERTH_CONFIG_UNKNOWN_FIELD');
    assert.equal(error.path, 'http.routers.web.servce');
    assert.match(error.message, /'servce'/);
    assert.match(error.message, /rule, service, entryPoints, middlewares, priority/);
  });

  it('reports unknown fields inside a load balancer and its servers too', () => {
    const { errors } = validateDynamic({
      http: { services: { api: { loadBalancer: { servers: [{ url: 'http://a', port: 80 }], retries: 2 } } } },
    });
    assert.deepEqual(errors.map((e) => [e.code, e.path]).sort(), [
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'http.services.api.loadBalancer.retries'],
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'http.services.api.loadBalancer.servers.0.port'],
    ]);
  });

  it('reports Traefik features Berth lacks as unsupported and drops the element using them', () => {
    const { config, errors } = validateDynamic({
      http: {
        routers: {
          secure: { ...router, observability: { accessLogs: false } },
          plain: { ...router, observability: null },
        },
        services: {
          standby: { failover: { service: 'a', fallback: 'b', errors: { status: ['500'] } } },
          fastest: { loadBalancer: { strategy: 'leasttime' } },
        },
      },
    });
    assert.deepEqual(Object.keys(config.http.routers), ['plain']);
    assert.deepEqual(config.http.services, {});
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [
        ['BERTH_CONFIG_UNSUPPORTED', 'http.routers.secure.observability'],
        ['BERTH_CONFIG_UNSUPPORTED', 'http.services.standby.failover.errors'],
        ['BERTH_CONFIG_UNSUPPORTED', 'http.services.fastest.loadBalancer.strategy'],
      ],
    );
  });

  it('reports a field written twice in different case and drops the element', () => {
    const { config, errors } = validateDynamic({
      http: { routers: { web: { ...router, Rule: 'Path(`/`)' } } },
    });
    assert.deepEqual(config.http.routers, {});
    assert.equal(only(errors).code, 'BERTH_CONFIG_DUPLICATE_FIELD');
    assert.equal(only(errors).path, 'http.routers.web.rule');
  });
});

describe('validateDynamic section-level errors', () => {
  it('validates http, tcp, udp and tls side by side', () => {
    const { config, errors } = validateDynamic({
      tcp: { routers: {} },
      http: { routers: { web: router } },
      udp: { services: {} },
      tls: { certificates: [] },
    });
    assert.deepEqual(Object.keys(config.http.routers), ['web']);
    assert.deepEqual(errors, []);
    assert.deepEqual(config.udp, { routers: {}, services: {} });
    assert.deepEqual(config.tcp, { routers: {}, services: {} });
    assert.deepEqual(config.tls, { certificates: [] });
  });

  it('leaves tcp and tls out of the result when the input has neither', () => {
    const { config } = validateDynamic({ http: { routers: { web: router } } });
    assert.equal('tcp' in config, false);
    assert.equal('tls' in config, false);
  });

  it('reads http middlewares, and routers keep naming them whatever becomes of them', () => {
    const { config, errors } = validateDynamic({
      http: {
        middlewares: { auth: { basicAuth: {} }, strip: { stripPrefix: { prefixes: ['/api'] } } },
        routers: { web: { ...router, middlewares: ['auth', 'strip'] } },
      },
    });
    assert.deepEqual(config.http.routers['web']?.middlewares, ['auth', 'strip']);
    assert.deepEqual(config.http.middlewares, { strip: { stripPrefix: { prefixes: ['/api'] } } });
    assert.deepEqual(codes(errors), ['BERTH_CONFIG_REQUIRED']);
  });

  it('reports an unknown key in the http section without dropping routers', () => {
    const { config, errors } = validateDynamic({ http: { router: {}, routers: { web: router } } });
    assert.deepEqual(Object.keys(config.http.routers), ['web']);
    assert.deepEqual([only(errors).code, only(errors).path], ['BERTH_CONFIG_UNKNOWN_FIELD', 'http.router']);
  });

  it('returns one error and empty configuration when the top level is not a mapping', () => {
    for (const raw of [42, 'http:', [], [{ http: {} }], true]) {
      const { config, errors } = validateDynamic(raw);
      assert.deepEqual(config, { http: { routers: {}, services: {} } });
      assert.deepEqual([only(errors).code, only(errors).path], ['BERTH_CONFIG_INVALID_TYPE', '']);
    }
  });

  it('reports http that is not a mapping', () => {
    assert.deepEqual(codes(validateDynamic({ http: 'yes' }).errors), ['BERTH_CONFIG_INVALID_TYPE']);
  });
});

describe('validateDynamic sources', () => {
  const file = (line: number): Source => ({ provider: 'file', origin: 'dynamic.yml', line });

  it('asks sourceOf about the offending path and attaches what it returns', () => {
    const asked: string[][] = [];
    const { errors } = validateDynamic(
      { http: { routers: { web: { rule: 'Nope(`x`)', service: 'api' } } } },
      {
        sourceOf: (path) => {
          asked.push(path);
          return file(7);
        },
      },
    );
    assert.deepEqual(asked, [['http', 'routers', 'web', 'rule']]);
    assert.deepEqual(only(errors).source, file(7));
  });

  it('falls back to the nearest enclosing path that has a source', () => {
    const known = new Map([['http/routers/web', file(3)]]);
    const { errors } = validateDynamic(
      { http: { routers: { web: { service: 'api' } } } },
      { sourceOf: (path) => known.get(path.join('/')) },
    );
    assert.deepEqual(only(errors).source, file(3));
  });

  it('passes the keys as written in the input, while the error path uses canonical names', () => {
    const asked: string[][] = [];
    const { errors } = validateDynamic(
      { HTTP: { Services: { api: { LoadBalancer: { Servers: [{ Url: 'ftp://x' }] } } } } },
      {
        sourceOf: (path) => {
          asked.push(path);
          return file(9);
        },
      },
    );
    assert.deepEqual(asked, [['HTTP', 'Services', 'api', 'LoadBalancer', 'Servers', '0', 'Url']]);
    assert.equal(only(errors).path, 'http.services.api.loadBalancer.servers.0.url');
  });

  it('leaves source out when sourceOf knows nothing or is not given', () => {
    const raw = { http: { routers: { web: { rule: 'Host(`a`' } } } };
    for (const errors of [
      validateDynamic(raw).errors,
      validateDynamic(raw, { sourceOf: () => undefined }).errors,
    ]) {
      assert.ok(errors.length > 0);
      for (const error of errors) assert.equal('source' in error, false);
    }
  });
});
