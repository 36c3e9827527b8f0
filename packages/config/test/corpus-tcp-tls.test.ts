// Real Traefik TCP/TLS configurations from /work/shared/corpus/traefik-labels, validated as Traefik reads them.
// Compose label sets are converted by hand into the dynamic configuration the label provider will
// build (keys spelt as in the labels; `server.port` becomes the container's `host:port`); CLI flags
// of the Traefik service become static configuration.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTcpRule, parseTcpRule, validateDynamic, validateStatic } from '../src/index.js';

describe('Traefik corpus: TCP and TLS dynamic configuration', () => {
  it('21-bluepuma-tcp-sni-and-plain: a TLS router by SNI with a resolver next to a plain catch-all', () => {
    const raw = {
      http: {
        routers: {
          mydashboard: {
            entrypoints: 'websecure',
            rule: 'Host(`traefik.example.com`)',
            service: 'api@internal',
            middlewares: 'myauth',
          },
          whoami: { entrypoints: 'websecure', rule: 'Host(`whoami.example.com`)', service: 'whoami' },
        },
        services: { whoami: { loadbalancer: { servers: [{ url: 'http://whoami:80' }] } } },
        middlewares: { myauth: { basicauth: { users: 'test:$apr1$x0xxxxxx$xxxxx0xxxxxxxxxxxx0xx/' } } },
      },
      tcp: {
        routers: {
          'tcpecho-le': {
            entrypoints: 'websecure',
            rule: 'HostSNI(`tcp.example.com`)',
            tls: { certresolver: 'myresolver' },
            // Auto-linked by Traefik to the container's only TCP service.
            service: 'tcpecho-le',
          },
          'tcpecho-plain': { entrypoints: 'tcp-plain', rule: 'HostSNI(`*`)', service: 'tcpecho-plain' },
        },
        services: {
          'tcpecho-le': { loadbalancer: { servers: [{ address: 'tcpecho-le:9000' }] } },
          'tcpecho-plain': { loadbalancer: { servers: [{ address: 'tcpecho-plain:9000' }] } },
        },
      },
    };
    const { config, errors } = validateDynamic(raw);
    assert.deepEqual(errors, []);
    assert.deepEqual(config.tcp?.routers['tcpecho-le'], {
      rule: 'HostSNI(`tcp.example.com`)',
      service: 'tcpecho-le',
      entryPoints: ['websecure'],
      tls: { certResolver: 'myresolver' },
    });
    assert.deepEqual(config.tcp?.routers['tcpecho-plain']?.entryPoints, ['tcp-plain']);
    assert.deepEqual(Object.keys(config.tcp!.services), ['tcpecho-le', 'tcpecho-plain']);
  });

  it('22-bluepuma-proxyprotocol-http-and-tcp: plain TCP routers sending PROXY protocol v1 and v2', () => {
    const raw = {
      http: {
        routers: {
          mydashboard: {
            rule: 'Host(`traefik.example.com`)',
            service: 'api@internal',
            middlewares: 'myauth',
          },
          mywhoami: { rule: 'Host(`whoami.example.com`)', service: 'mywhoami' },
          myecho: { rule: 'Host(`echo.example.com`)', service: 'myecho' },
        },
        services: {
          mywhoami: { loadbalancer: { servers: [{ url: 'http://whoami:80' }] } },
          myecho: { loadbalancer: { servers: [{ url: 'http://echo:3000' }] } },
        },
        middlewares: { myauth: { basicauth: { users: 'test:$apr1$x0xxxxxx$xxxxx0xxxxxxxxxxxx0xx/' } } },
      },
      tcp: {
        routers: {
          myecho0: { entrypoints: 'plaintcp0', rule: 'HostSNI(`*`)', service: 'myecho0' },
          myecho1: { entrypoints: 'plaintcp1', rule: 'HostSNI(`*`)', service: 'myecho1' },
          myecho2: { entrypoints: 'plaintcp2', rule: 'HostSNI(`*`)', service: 'myecho2' },
        },
        services: {
          myecho0: { loadbalancer: { servers: [{ address: 'echo:3000' }] } },
          // Labels carry strings: `...loadbalancer.proxyprotocol.version=1`.
          myecho1: { loadbalancer: { servers: [{ address: 'echo:3000' }], proxyprotocol: { version: '1' } } },
          myecho2: { loadbalancer: { servers: [{ address: 'echo:3000' }], proxyprotocol: { version: '2' } } },
        },
      },
    };
    const { config, errors } = validateDynamic(raw);
    assert.deepEqual(errors, []);
    assert.deepEqual(config.tcp?.services['myecho1']?.loadBalancer?.proxyProtocol, { version: 1 });
    assert.deepEqual(config.tcp?.services['myecho2']?.loadBalancer?.proxyProtocol, { version: 2 });
    assert.equal(config.tcp?.services['myecho0']?.loadBalancer?.proxyProtocol, undefined);
  });

  it('48-netmaker-mqtt-tls-passthrough: MQTT over TLS passed through by SNI', () => {
    const { config, errors } = validateDynamic({
      tcp: {
        routers: {
          mqtts: {
            rule: 'HostSNI(`broker.NETMAKER_BASE_DOMAIN`)',
            tls: { passthrough: 'true' },
            service: 'mqtts-svc',
            entrypoints: 'websecure',
          },
        },
        services: { 'mqtts-svc': { loadbalancer: { servers: [{ address: 'mq:8883' }] } } },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.tcp?.routers['mqtts']?.tls, { passthrough: true });
  });

  it('58-htpc-t3-domain-passthrough-v2-regexp: the v2 {name:regex} placeholder is kept, as Traefik v3 keeps it, and warned about', () => {
    // {{env "DOMAINNAME_DS918"}} rendered as nas.example.com, as Traefik's file provider does first.
    // Traefik v3 accepts the rule but reads the braces literally, so the router silently never
    // matches what v2 matched (EXPECTED.json, silentlyDifferentUnderV3); Berth keeps it and says so.
    const rule = 'HostSNIRegexp(`nas.example.com`) || HostSNIRegexp(`{subdomain:[a-z]+}.nas.example.com`)';
    const raw = {
      tcp: {
        routers: {
          'synology-traefik-rtr': {
            entryPoints: ['websecure'],
            rule,
            service: 'synology-traefik-svc',
            tls: { passthrough: true },
          },
        },
        services: {
          'synology-traefik-svc': { loadBalancer: { servers: [{ address: '192.168.1.254:443' }] } },
        },
      },
    };
    const { config, errors } = validateDynamic(raw);
    assert.deepEqual(errors, []);
    assert.deepEqual(config.tcp?.routers, raw.tcp.routers);
    const parsed = parseTcpRule(rule);
    assert.equal(parsed.ok, true);
    const warnings = parsed.ok ? (parsed.warnings ?? []) : [];
    assert.deepEqual(
      warnings.map((w) => [w.code, w.column]),
      [['BERTH_CONFIG_RULE_NEVER_MATCHES', 37]],
    );
    assert.match(warnings[0]!.message, /never matches under v3/);
    // With ruleSyntax v2 (or core.defaultRuleSyntax: v2) it routes as it did on Traefik v2.
    const v2 = parseTcpRule(rule, 'v2');
    assert.ok(v2.ok);
    const { match } = compileTcpRule(v2.ast, 'v2');
    const conn = (serverName: string) => ({ serverName, alpn: [], clientIp: '192.0.2.1', tls: true });
    assert.equal(match(conn('nas.example.com')), true);
    assert.equal(match(conn('photos.nas.example.com')), true);
    assert.equal(match(conn('a.b.nas.example.com')), false);
  });

  it('58-htpc-t3-domain-passthrough-v2-regexp, rewritten as a v3 regexp: a passthrough router', () => {
    const raw = {
      tcp: {
        routers: {
          'synology-traefik-rtr': {
            entryPoints: ['websecure'],
            rule: 'HostSNIRegexp(`^nas\\.example\\.com$`) || HostSNIRegexp(`^[a-z]+\\.nas\\.example\\.com$`)',
            service: 'synology-traefik-svc',
            tls: { passthrough: true },
          },
        },
        services: {
          'synology-traefik-svc': { loadBalancer: { servers: [{ address: '192.168.1.254:443' }] } },
        },
      },
    };
    assert.deepEqual(validateDynamic(raw), {
      config: { http: { routers: {}, services: {} }, ...raw },
      errors: [],
    });
  });

  it('60-htpc-t3-tls-opts: TLS options with TLS 1.3 names and TLS_FALLBACK_SCSV among the suites', () => {
    const raw = {
      tls: {
        options: {
          'tls-opts': {
            minVersion: 'VersionTLS12',
            cipherSuites: [
              'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
              'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
              'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
              'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
              'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
              'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305',
              'TLS_AES_128_GCM_SHA256',
              'TLS_AES_256_GCM_SHA384',
              'TLS_CHACHA20_POLY1305_SHA256',
              'TLS_FALLBACK_SCSV',
            ],
            curvePreferences: ['CurveP521', 'CurveP384'],
            sniStrict: true,
          },
        },
      },
    };
    assert.deepEqual(validateDynamic(raw), {
      config: { http: { routers: {}, services: {} }, ...raw },
      errors: [],
    });
  });

  it('67-authelia-local-tls-certificates: one certificate from files', () => {
    const raw = {
      tls: {
        certificates: [{ certFile: '/etc/traefik/certs/cert.pem', keyFile: '/etc/traefik/certs/key.pem' }],
      },
    };
    assert.deepEqual(validateDynamic(raw), {
      config: { http: { routers: {}, services: {} }, ...raw },
      errors: [],
    });
  });

  it('26-runtipi-owncast-tcp-without-tls: HostSNI with a name and no tls is refused, as Traefik does', () => {
    // APP_DOMAIN=owncast.example.com, LOCAL_DOMAIN=tipi.local (EXPECTED.json); routers auto-link to owncast-rtmp.
    const { config, errors } = validateDynamic({
      http: {
        routers: {
          owncast: {
            rule: 'Host(`owncast.example.com`)',
            entrypoints: 'websecure',
            service: 'owncast',
            tls: { certresolver: 'myresolver' },
          },
          'owncast-local': {
            rule: 'Host(`owncast.tipi.local`)',
            entrypoints: 'websecure',
            service: 'owncast',
            tls: 'true',
          },
        },
        services: { owncast: { loadbalancer: { servers: [{ url: 'http://owncast:8080' }] } } },
      },
      tcp: {
        routers: {
          'owncast-rtmp-insecure': { rule: 'HostSNI(`owncast.example.com`)', service: 'owncast-rtmp' },
          'owncast-rtmp': { rule: 'HostSNI(`owncast.example.com`)', service: 'owncast-rtmp' },
          'owncast-rtmp-local-insecure': { rule: 'HostSNI(`owncast.tipi.local`)', service: 'owncast-rtmp' },
          'owncast-rtmp-local': { rule: 'HostSNI(`owncast.tipi.local`)', service: 'owncast-rtmp' },
        },
        services: { 'owncast-rtmp': { loadbalancer: { servers: [{ address: 'owncast:1935' }] } } },
      },
    });
    assert.deepEqual(Object.keys(config.http.routers), ['owncast', 'owncast-local']);
    assert.deepEqual(config.http.routers['owncast-local']?.tls, {});
    assert.deepEqual(config.tcp?.routers, {});
    assert.deepEqual(Object.keys(config.tcp!.services), ['owncast-rtmp']);
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [
        ['BERTH_CONFIG_TCP_RULE_NEEDS_TLS', 'tcp.routers.owncast-rtmp-insecure.rule'],
        ['BERTH_CONFIG_TCP_RULE_NEEDS_TLS', 'tcp.routers.owncast-rtmp.rule'],
        ['BERTH_CONFIG_TCP_RULE_NEEDS_TLS', 'tcp.routers.owncast-rtmp-local-insecure.rule'],
        ['BERTH_CONFIG_TCP_RULE_NEEDS_TLS', 'tcp.routers.owncast-rtmp-local.rule'],
      ],
    );
  });

  it('44-hamid-gitlab-ssh-hostsni-without-tls: SSH by HostSNI is refused, the HTTPS router kept', () => {
    const { config, errors } = validateDynamic({
      http: {
        routers: {
          gitlab: {
            rule: 'Host(`gitlab.example.com`)',
            entrypoints: 'websecure',
            service: 'gitlab',
            tls: { certresolver: 'letsencrypt' },
          },
        },
        services: {
          gitlab: { loadbalancer: { servers: [{ url: 'http://gitlab:80' }], passhostheader: 'true' } },
        },
      },
      tcp: {
        routers: {
          'gitlab-ssh': { rule: 'HostSNI(`gitlab.example.com`)', service: 'gitlab-ssh', entrypoints: 'ssh' },
        },
        services: { 'gitlab-ssh': { loadbalancer: { servers: [{ address: 'gitlab:22' }] } } },
      },
    });
    assert.deepEqual(config.http.routers['gitlab']?.tls, { certResolver: 'letsencrypt' });
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'BERTH_CONFIG_TCP_RULE_NEEDS_TLS');
    assert.match(errors[0]!.message, /HostSNI with a name at column 1 requires tls/);
  });
});

describe('Traefik corpus: TCP and TLS static configuration', () => {
  it('21-bluepuma-tcp-sni-and-plain: redirection to websecure, a resolver on websecure, a plain TCP port', () => {
    const { config, errors } = validateStatic({
      entryPoints: {
        web: { address: ':80', http: { redirections: { entryPoint: { to: 'websecure', scheme: 'https' } } } },
        websecure: { address: ':443', http: { tls: { certresolver: 'myresolver' } } },
        'tcp-plain': { address: ':9000' },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.entryPoints['websecure']?.http, { tls: { certResolver: 'myresolver' } });
  });

  it('30-htpc-traefik3-core-entrypoint-tls: entry point TLS with options, resolver and two domains', () => {
    // --entrypoints.websecure.http.tls=true plus .options, .certresolver and .domains[i].main/sans,
    // with DOMAINNAME_HS=home.example.com and DOMAINNAME_1=example.org (EXPECTED.json).
    const raw = {
      entryPoints: {
        web: {
          address: ':80',
          http: { redirections: { entrypoint: { to: 'websecure', scheme: 'https', permanent: 'true' } } },
        },
        websecure: {
          address: ':443',
          forwardedHeaders: { trustedIPs: '173.245.48.0/20,192.168.0.0/16' },
          http: {
            tls: {
              options: 'tls-opts@file',
              certresolver: 'dns-cloudflare',
              domains: [
                { main: 'home.example.com', sans: '*.home.example.com' },
                { main: 'example.org', sans: '*.example.org' },
              ],
            },
          },
        },
        traefik: { address: ':8080' },
      },
    };
    const { config, errors } = validateStatic(raw);
    assert.deepEqual(errors, []);
    assert.deepEqual(config.entryPoints['web']?.http, {
      redirections: { entryPoint: { to: 'websecure', scheme: 'https', permanent: true } },
    });
    assert.deepEqual(config.entryPoints['websecure']?.http?.tls, {
      options: 'tls-opts@file',
      certResolver: 'dns-cloudflare',
      domains: [
        { main: 'home.example.com', sans: ['*.home.example.com'] },
        { main: 'example.org', sans: ['*.example.org'] },
      ],
    });
  });
});
