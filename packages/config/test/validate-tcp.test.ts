// Specifies how the tcp section (routers, services, middlewares, servers transports) is validated.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfigError, validateDynamic } from '../src/index.js';

const router = { rule: 'HostSNI(`*`)', service: 'echo' };
const service = { loadBalancer: { servers: [{ address: '10.0.0.2:9000' }] } };

function tcp(section: Record<string, unknown>) {
  return validateDynamic({ tcp: section });
}

function only(errors: readonly ConfigError[]): ConfigError {
  assert.equal(errors.length, 1, JSON.stringify(errors, null, 2));
  return errors[0]!;
}

function codesAndPaths(errors: readonly ConfigError[]): string[][] {
  return errors.map((e) => [e.code, e.path]);
}

describe('tcp routers', () => {
  it('passes a complete valid tcp section through unchanged', () => {
    const raw = {
      http: { routers: {}, services: {} },
      tcp: {
        routers: {
          db: { ...router, entryPoints: ['postgres'], middlewares: ['lan', 'limit'], priority: 5 },
          git: {
            rule: 'HostSNI(`git.example.com`) && ClientIP(`10.0.0.0/8`)',
            service: 'git',
            entryPoints: ['websecure'],
            tls: {
              options: 'modern',
              certResolver: 'le',
              domains: [{ main: 'example.com', sans: ['*.example.com'] }],
            },
          },
          nas: {
            rule: 'HostSNIRegexp(`^.+\\.nas\\.example\\.com$`)',
            service: 'nas',
            tls: { passthrough: true },
          },
          h2: { rule: 'HostSNI(`*`) && ALPN(`h2`)', service: 'echo', tls: {} },
        },
        services: {
          echo: {
            loadBalancer: {
              servers: [
                { address: '10.0.0.2:9000', weight: 2 },
                { address: '[2001:db8::2]:9000', tls: true },
              ],
              serversTransport: 'backend',
              proxyProtocol: { version: 2 },
              terminationDelay: 200,
              healthCheck: {
                port: 9001,
                send: 'PING\n',
                expect: 'PONG',
                interval: '10s',
                unhealthyInterval: '2s',
                timeout: '3s',
              },
            },
          },
          git: { loadBalancer: { servers: [{ address: 'gitlab:22' }] } },
          nas: { loadBalancer: { servers: [{ address: '192.168.1.254:443' }] } },
          split: { weighted: { services: [{ name: 'echo', weight: 3 }, { name: 'git' }] } },
        },
        middlewares: {
          lan: { ipAllowList: { sourceRange: ['10.0.0.0/8', '192.168.1.7'] } },
          limit: { inFlightConn: { amount: 10 } },
        },
        serversTransports: {
          backend: {
            dialTimeout: '5s',
            dialKeepAlive: '15s',
            terminationDelay: '100ms',
            proxyProtocol: { version: 1 },
            tls: {
              serverName: 'backend.internal',
              insecureSkipVerify: false,
              rootCAs: ['/certs/ca.pem'],
              certificates: [{ certFile: '/certs/client.pem', keyFile: '/certs/client.key' }],
            },
            idleTimeout: '1h',
          },
        },
      },
    };
    assert.deepEqual(validateDynamic(raw), { config: raw, errors: [] });
  });

  it('reads tls: true, and the label string "true", as tls with defaults; false as no tls', () => {
    const { config, errors } = tcp({
      routers: {
        a: { ...router, tls: true },
        b: { ...router, TLS: 'True' },
        c: { ...router, tls: 'false' },
        d: { ...router, tls: { passthrough: 'true' } },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.tcp?.routers['a']?.tls, {});
    assert.deepEqual(config.tcp?.routers['b']?.tls, {});
    assert.equal('tls' in config.tcp!.routers['c']!, false);
    assert.deepEqual(config.tcp?.routers['d']?.tls, { passthrough: true });
  });

  it('refuses HostSNI with a name on a router without tls, as Traefik does, naming the column', () => {
    const { config, errors } = tcp({
      routers: {
        ssh: { rule: 'HostSNI(`gitlab.example.com`)', service: 'ssh', entryPoints: ['ssh'] },
        catchAll: { rule: 'HostSNI(`*`) && ClientIP(`10.0.0.0/8`)', service: 'ssh' },
      },
    });
    assert.deepEqual(Object.keys(config.tcp!.routers), ['catchAll']);
    const error = only(errors);
    assert.equal(error.code, 'BERTH_CONFIG_TCP_RULE_NEEDS_TLS');
    assert.equal(error.path, 'tcp.routers.ssh.rule');
    assert.match(
      error.message,
      /^tcp router 'ssh': rule "HostSNI\(`gitlab\.example\.com`\)": HostSNI with a name/,
    );
    assert.match(error.message, /at column 1 requires tls on the router/);
    assert.match(error.message, /HostSNI\(`\*`\)/);
  });

  it('refuses HostSNIRegexp and ALPN without tls too, wherever they sit in the rule', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['HostSNIRegexp(`^a\\.test$`)', 'regexp', /HostSNIRegexp at column 1/],
      ['HostSNI(`*`) && ALPN(`h2`)', 'alpn', /ALPN at column 17/],
      ['ClientIP(`10.0.0.1`) || !HostSNI(`a.test`)', 'negated', /HostSNI with a name at column 26/],
      ['HostSNI(`*`, `a.test`)', 'mixed', /HostSNI with a name at column 1/],
    ];
    for (const [rule, name, message] of cases) {
      const error = only(tcp({ routers: { [name]: { rule, service: 's' } } }).errors);
      assert.equal(error.code, 'BERTH_CONFIG_TCP_RULE_NEEDS_TLS', rule);
      assert.equal(error.path, `tcp.routers.${name}.rule`);
      assert.match(error.message, message);
    }
  });

  it('passes on TCP rule parse errors with their code and column, and refuses HTTP matchers', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['HostSNI(`a.test`', 'BERTH_CONFIG_RULE_SYNTAX', /expected '\)' at column 17/],
      ['Host(`a.test`)', 'BERTH_CONFIG_RULE_UNKNOWN_MATCHER', /unknown matcher 'Host' at column 1.*HostSNI/],
      ['ALPN(`acme-tls/1`)', 'BERTH_CONFIG_RULE_ARGS', /acme-tls\/1/],
      ['ClientIP(`10.0.0.0/33`)', 'BERTH_CONFIG_RULE_ARGS', /not an IP address or CIDR range/],
    ];
    for (const [rule, code, message] of cases) {
      const error = only(tcp({ routers: { web: { rule, service: 's', tls: {} } } }).errors);
      assert.equal(error.code, code, rule);
      assert.equal(error.path, 'tcp.routers.web.rule');
      assert.match(error.message, message);
    }
  });

  it('requires rule and service, types the other fields, and drops only the broken router', () => {
    const { config, errors } = tcp({
      routers: {
        good: router,
        empty: {},
        typed: { ...router, entryPoints: 5, priority: -1, colour: 'red' },
        badTls: { ...router, tls: 'yes' },
        badDomains: { ...router, tls: { domains: { main: 'a.test' }, options: '' } },
      },
    });
    assert.deepEqual(Object.keys(config.tcp!.routers), ['good']);
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_REQUIRED', 'tcp.routers.empty.rule'],
      ['BERTH_CONFIG_REQUIRED', 'tcp.routers.empty.service'],
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'tcp.routers.typed.colour'],
      ['BERTH_CONFIG_INVALID_TYPE', 'tcp.routers.typed.entryPoints'],
      ['BERTH_CONFIG_INVALID_TYPE', 'tcp.routers.typed.priority'],
      ['BERTH_CONFIG_INVALID_TYPE', 'tcp.routers.badTls.tls'],
      ['BERTH_CONFIG_REQUIRED', 'tcp.routers.badDomains.tls.options'],
      ['BERTH_CONFIG_INVALID_TYPE', 'tcp.routers.badDomains.tls.domains'],
    ]);
    assert.match(
      errors[5]!.message,
      /tls must be a mapping \(options, certResolver, domains, passthrough\) or true/,
    );
  });

  it('matches keys case-insensitively, comma-splits label lists, and keeps names as written', () => {
    const { config, errors } = validateDynamic({
      TCP: {
        Routers: {
          MyDB: {
            RULE: 'HostSNI(`*`)',
            Service: 'db',
            entrypoints: 'pg1, pg2',
            TLS: { PassThrough: 'false' },
          },
        },
        services: {
          db: { loadbalancer: { SERVERS: [{ Address: 'db:5432' }], proxyprotocol: { VERSION: '1' } } },
        },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.tcp, {
      routers: {
        MyDB: {
          rule: 'HostSNI(`*`)',
          service: 'db',
          entryPoints: ['pg1', 'pg2'],
          tls: { passthrough: false },
        },
      },
      services: {
        db: { loadBalancer: { servers: [{ address: 'db:5432' }], proxyProtocol: { version: 1 } } },
      },
    });
  });

  it('reads ruleSyntax v2 and keeps it on the router, with the rule checked as v2', () => {
    const rule = 'HostSNIRegexp(`a.test`, `{sub:[a-z]+}.a.test`)';
    const { config, errors } = tcp({ routers: { a: { ...router, rule, ruleSyntax: 'v2', tls: {} } } });
    assert.deepEqual(errors, []);
    assert.equal(config.tcp?.routers['a']?.ruleSyntax, 'v2');
    const refused = only(tcp({ routers: { a: { ...router, rule, ruleSyntax: 'v3', tls: {} } } }).errors);
    assert.deepEqual([refused.code, refused.path], ['BERTH_CONFIG_RULE_ARGS', 'tcp.routers.a.rule']);
  });

  it('reads any other ruleSyntax as v3, as Traefik does, with a warning', () => {
    const { config, errors } = tcp({ routers: { a: { ...router, ruleSyntax: 'default' } } });
    assert.deepEqual(
      errors.map((e) => [e.code, e.path, e.severity]),
      [['BERTH_CONFIG_RULE_SYNTAX_VERSION', 'tcp.routers.a.ruleSyntax', 'warning']],
    );
    assert.equal(config.tcp?.routers['a']?.ruleSyntax, 'v3');
  });
});

describe('tcp services', () => {
  it('requires exactly one of loadBalancer and weighted', () => {
    const { config, errors } = tcp({
      services: { none: {}, both: { ...service, weighted: { services: [{ name: 'a' }] } }, good: service },
    });
    assert.deepEqual(Object.keys(config.tcp!.services), ['good']);
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_SERVICE_KIND', 'tcp.services.none'],
      ['BERTH_CONFIG_SERVICE_KIND', 'tcp.services.both'],
    ]);
    assert.match(errors[0]!.message, /must set exactly one of loadBalancer or weighted/);
    assert.match(errors[1]!.message, /sets several kinds \(loadBalancer, weighted\)/);
  });

  it('reads an empty loadBalancer as a service with no servers yet', () => {
    const { config, errors } = tcp({ services: { later: { loadBalancer: null } } });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.tcp?.services['later'], { loadBalancer: { servers: [] } });
  });

  it('checks server addresses: host and port are both required', () => {
    const addresses = [':9000', 'db', 'db:0', 'db:99999', 'http://db:80', '[::1:22'];
    const { config, errors } = tcp({
      services: { db: { loadBalancer: { servers: addresses.map((address) => ({ address })) } } },
    });
    assert.deepEqual(config.tcp?.services, {});
    assert.deepEqual(
      codesAndPaths(errors),
      addresses.map((_, i) => [
        'BERTH_CONFIG_INVALID_ADDRESS',
        `tcp.services.db.loadBalancer.servers.${i}.address`,
      ]),
    );
    assert.match(errors[0]!.message, /":9000" is not a server address; expected 'host:port'/);
  });

  it('requires an address, and types weight, tls, proxyProtocol, terminationDelay and healthCheck', () => {
    const { errors } = tcp({
      services: {
        db: {
          loadBalancer: {
            servers: [{ weight: 1 }, { address: 'db:1', weight: -1, tls: 'maybe', url: 'http://x' }],
            proxyProtocol: { version: 3 },
            terminationDelay: '1s',
            healthCheck: { port: 0, interval: 'often', path: '/' },
          },
        },
      },
    });
    const base = 'tcp.services.db.loadBalancer';
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_REQUIRED', `${base}.servers.0.address`],
      ['BERTH_CONFIG_UNKNOWN_FIELD', `${base}.servers.1.url`],
      ['BERTH_CONFIG_INVALID_TYPE', `${base}.servers.1.weight`],
      ['BERTH_CONFIG_INVALID_TYPE', `${base}.servers.1.tls`],
      ['BERTH_CONFIG_INVALID_TYPE', `${base}.proxyProtocol.version`],
      ['BERTH_CONFIG_INVALID_TYPE', `${base}.terminationDelay`],
      ['BERTH_CONFIG_UNKNOWN_FIELD', `${base}.healthCheck.path`],
      ['BERTH_CONFIG_INVALID_TYPE', `${base}.healthCheck.port`],
      ['BERTH_CONFIG_INVALID_TYPE', `${base}.healthCheck.interval`],
    ]);
    assert.match(
      errors[4]!.message,
      /proxyProtocol: version must be a whole number from 1 to 2, got number 3/,
    );
  });

  it('normalises health check durations written as numbers (seconds)', () => {
    const { config } = tcp({
      services: { db: { loadBalancer: { servers: [], healthCheck: { interval: 30 } } } },
    });
    assert.deepEqual(config.tcp?.services['db']?.loadBalancer?.healthCheck, { interval: '30s' });
  });

  it('requires weighted services to name at least one service', () => {
    const { errors } = tcp({
      services: {
        a: { weighted: {} },
        b: { weighted: { services: [] } },
        c: { weighted: { services: [{ weight: 1 }] } },
      },
    });
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_REQUIRED', 'tcp.services.a.weighted.services'],
      ['BERTH_CONFIG_REQUIRED', 'tcp.services.b.weighted.services'],
      ['BERTH_CONFIG_REQUIRED', 'tcp.services.c.weighted.services.0.name'],
    ]);
  });

  it("accepts Traefik's healthCheck: {} on a weighted service (Berth always follows child health)", () => {
    const { config, errors } = tcp({
      services: { w: { weighted: { services: [{ name: 'a' }], healthCheck: {} } } },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.tcp?.services['w']?.weighted?.healthCheck, {});
  });
});

describe('tcp middlewares', () => {
  it('reads ipWhiteList, Traefik v2 name, as ipAllowList', () => {
    const { config, errors } = tcp({
      middlewares: { lan: { ipWhiteList: { sourceRange: '10.0.0.0/8,::1' } } },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.tcp?.middlewares, {
      lan: { ipAllowList: { sourceRange: ['10.0.0.0/8', '::1'] } },
    });
  });

  it('checks CIDRs and the inFlightConn amount, and needs exactly one kind', () => {
    const { config, errors } = tcp({
      middlewares: {
        cidr: { ipAllowList: { sourceRange: ['10.0.0.0/33'] } },
        empty: { ipAllowList: null },
        zero: { inFlightConn: { amount: 0 } },
        none: {},
        two: { ipAllowList: { sourceRange: ['::1'] }, inFlightConn: { amount: 1 } },
        http: { stripPrefix: { prefixes: ['/a'] } },
        ok: { inFlightConn: { amount: '5' } },
      },
    });
    assert.deepEqual(config.tcp?.middlewares, { ok: { inFlightConn: { amount: 5 } } });
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_INVALID_CIDR', 'tcp.middlewares.cidr.ipAllowList.sourceRange.0'],
      ['BERTH_CONFIG_REQUIRED', 'tcp.middlewares.empty.ipAllowList.sourceRange'],
      ['BERTH_CONFIG_INVALID_TYPE', 'tcp.middlewares.zero.inFlightConn.amount'],
      ['BERTH_CONFIG_MIDDLEWARE_KIND', 'tcp.middlewares.none'],
      ['BERTH_CONFIG_MIDDLEWARE_KIND', 'tcp.middlewares.two'],
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'tcp.middlewares.http.stripPrefix'],
    ]);
    assert.match(errors[0]!.message, /"10\.0\.0\.0\/33" is not an IP address or CIDR range/);
    assert.match(errors[5]!.message, /valid fields: ipAllowList, inFlightConn, ipWhiteList/);
  });
});

describe('tcp servers transports', () => {
  it('types durations, proxyProtocol and tls, and reports Traefik-only tls fields as unsupported', () => {
    const { config, errors } = tcp({
      serversTransports: {
        good: { dialTimeout: 5, idleTimeout: '0s' },
        bad: {
          dialKeepAlive: 'forever',
          proxyProtocol: { version: 'two' },
          tls: { certificates: [{ certFile: '/c.pem' }], spiffe: { ids: ['x'] }, peerCertSANs: [] },
        },
      },
    });
    assert.deepEqual(config.tcp?.serversTransports, { good: { dialTimeout: '5s', idleTimeout: '0s' } });
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_INVALID_TYPE', 'tcp.serversTransports.bad.dialKeepAlive'],
      ['BERTH_CONFIG_INVALID_TYPE', 'tcp.serversTransports.bad.proxyProtocol.version'],
      ['BERTH_CONFIG_UNSUPPORTED', 'tcp.serversTransports.bad.tls.spiffe'],
      ['BERTH_CONFIG_UNSUPPORTED', 'tcp.serversTransports.bad.tls.peerCertSANs'],
      ['BERTH_CONFIG_REQUIRED', 'tcp.serversTransports.bad.tls.certificates.0.keyFile'],
    ]);
  });
});

describe('tcp section', () => {
  it('reports a tcp section that is not a mapping, and unknown fields in it', () => {
    assert.deepEqual(codesAndPaths(validateDynamic({ tcp: ['x'] }).errors), [
      ['BERTH_CONFIG_INVALID_TYPE', 'tcp'],
    ]);
    assert.deepEqual(codesAndPaths(validateDynamic({ tcp: { router: {} } }).errors), [
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'tcp.router'],
    ]);
  });

  it('asks sourceOf with the keys as written, so errors point at the file line', () => {
    const asked: string[][] = [];
    const { errors } = validateDynamic(
      { TCP: { Routers: { ssh: { Rule: 'HostSNI(`a.test`)', service: 's' } } } },
      {
        sourceOf: (path) => {
          asked.push(path);
          return { provider: 'file', origin: 'tcp.yml', line: 7 };
        },
      },
    );
    assert.deepEqual(asked, [['TCP', 'Routers', 'ssh', 'Rule']]);
    assert.deepEqual(only(errors).source, { provider: 'file', origin: 'tcp.yml', line: 7 });
    assert.equal(only(errors).path, 'tcp.routers.ssh.rule');
  });
});
