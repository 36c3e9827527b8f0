import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseApiAddress } from '../src/api-client.js';
import { CERT_HEADERS, certRows } from '../src/commands/certs.js';
import { millis } from '../src/commands/command.js';
import { parseEntryPointFlags } from '../src/commands/entry-point-flags.js';
import { errorLines, ROUTE_HEADERS, routeRows } from '../src/commands/routes.js';
import { ago, CliError, table } from '../src/output.js';

describe('CLI helpers', () => {
  it('aligns table columns and trims trailing space', () => {
    assert.equal(
      table(
        ['NAME', 'STATE'],
        [
          ['node-1', 'connected'],
          ['n2', 'gone'],
        ],
      ),
      'NAME    STATE\nnode-1  connected\nn2      gone',
    );
  });

  it('prints ages in the largest whole unit', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    assert.equal(ago('2026-01-01T11:59:30Z', now), '30s');
    assert.equal(ago('2026-01-01T11:00:00Z', now), '1h');
    assert.equal(ago('2025-12-30T12:00:00Z', now), '2d');
    assert.equal(ago(null, now), '-');
  });

  it('parses --entrypoint name=address flags and refuses anything else with a code', () => {
    assert.deepEqual(parseEntryPointFlags(['web=:80', 'ssh=127.0.0.1:22']), {
      web: { address: ':80' },
      ssh: { address: '127.0.0.1:22' },
    });
    assert.throws(
      () => parseEntryPointFlags(['=:80']),
      (e: unknown) => e instanceof CliError && e.code === 'BERTH_CLI_BAD_FLAG',
    );
    assert.throws(() => parseEntryPointFlags(['web']), CliError);
  });
});

describe('the --*-ms flags', () => {
  it('take whole milliseconds, the default when absent', () => {
    assert.equal(millis({}, 'node-expiry-ms', 600_000), 600_000);
    assert.equal(millis({ 'heartbeat-ms': '250' }, 'heartbeat-ms', 5000), 250);
  });

  it('refuse anything else with BERTH_CLI_BAD_FLAG, naming the flag', () => {
    for (const bad of ['abc', '', '-5', '1.5', '0', ' 10', '1e3']) {
      assert.throws(
        () => millis({ 'node-expiry-ms': bad }, 'node-expiry-ms', 600_000),
        (err: unknown) =>
          err instanceof CliError &&
          err.code === 'BERTH_CLI_BAD_FLAG' &&
          err.message.includes('--node-expiry-ms'),
        bad,
      );
    }
  });
});

describe('the --api flag', () => {
  it('takes host:port and a URL alike, on the controller and on the client commands', () => {
    for (const text of ['127.0.0.1:7390', 'http://127.0.0.1:7390', 'http://127.0.0.1:7390/']) {
      assert.deepEqual(parseApiAddress(text), { url: 'http://127.0.0.1:7390', hostPort: '127.0.0.1:7390' });
    }
    assert.deepEqual(parseApiAddress(':7390'), { url: 'http://127.0.0.1:7390', hostPort: ':7390' });
    assert.deepEqual(parseApiAddress('[::1]:7390'), { url: 'http://[::1]:7390', hostPort: '[::1]:7390' });
    assert.deepEqual(parseApiAddress('lb1.internal:7390'), {
      url: 'http://lb1.internal:7390',
      hostPort: 'lb1.internal:7390',
    });
    assert.deepEqual(parseApiAddress('https://berth.example/admin/'), {
      url: 'https://berth.example/admin',
      hostPort: 'berth.example:443',
    });
  });

  it('refuses anything else with BERTH_CLI_BAD_FLAG', () => {
    for (const bad of ['127.0.0.1', 'localhost:99999', 'ftp://127.0.0.1:21', 'http://', 'a b:1']) {
      assert.throws(
        () => parseApiAddress(bad),
        (e: unknown) => e instanceof CliError && e.code === 'BERTH_CLI_BAD_FLAG',
        bad,
      );
    }
  });
});

describe('berth routes', () => {
  it('shows each entry point with how the router answers there, and routers dropped for an error', () => {
    const error = {
      code: 'BERTH_CONFIG_RULE_SYNTAX',
      path: 'http.routers.typo.rule',
      message: "router 'typo': rule: expected ')'",
      source: { provider: 'file', origin: '/etc/berth/a.yml', line: 7 },
    };
    const routers = [
      {
        name: 'site',
        rule: 'Host(`a.test`)',
        service: 'app',
        entryPoints: ['web', 'websecure'],
        tlsEntryPoints: ['websecure'],
        middlewares: [],
        priority: 14,
        status: 'enabled' as const,
        errors: [],
      },
      {
        name: 'typo',
        rule: '',
        service: '',
        entryPoints: [],
        tlsEntryPoints: [],
        middlewares: [],
        priority: 0,
        status: 'error' as const,
        errors: [error],
      },
    ];
    assert.equal(
      table(ROUTE_HEADERS, routeRows(routers)),
      [
        'ROUTER  STATUS   ENTRYPOINTS                    PRIORITY  SERVICE  RULE            ERRORS',
        'site    enabled  web (http), websecure (https)  14        app      Host(`a.test`)  -',
        'typo    error    -                              -         -        -               BERTH_CONFIG_RULE_SYNTAX',
      ].join('\n'),
    );
    assert.deepEqual(errorLines(routers), [
      "  typo: BERTH_CONFIG_RULE_SYNTAX: router 'typo': rule: expected ')' (/etc/berth/a.yml:7)",
    ]);
  });

  it('shows a router that fails closed as disabled (503)', () => {
    const [row] = routeRows([
      {
        name: 'admin@file',
        rule: 'Host(`admin.test`)',
        service: 'app@file',
        entryPoints: ['web'],
        tlsEntryPoints: [],
        middlewares: ['auth@file'],
        priority: 18,
        status: 'disabled',
        failClosed: true,
        errors: [
          {
            code: 'BERTH_CONFIG_MIDDLEWARE_MISSING',
            path: 'http.routers.admin@file.middlewares',
            message: 'x',
          },
        ],
      },
    ]);
    assert.equal(row?.[1], 'disabled (503)');
  });

  it('marks a warning below the table as one (the router it names still serves)', () => {
    const warning = {
      code: 'BERTH_ACME_RESOLVER_UNKNOWN',
      path: 'http.routers.blog@docker.tls.certResolver',
      message: 'router "blog@docker": certResolver "le" is not a configured certificate resolver',
      source: { provider: 'docker', origin: 'blog', label: 'traefik.http.routers.blog.rule' },
      severity: 'warning' as const,
    };
    const router = {
      name: 'blog@docker',
      rule: 'Host(`blog.test`)',
      service: 'blog@docker',
      entryPoints: ['websecure'],
      tlsEntryPoints: ['websecure'],
      middlewares: [],
      priority: 17,
      status: 'enabled' as const,
      errors: [warning],
    };
    assert.deepEqual(errorLines([router]), [
      '  blog@docker: warning: BERTH_ACME_RESOLVER_UNKNOWN: router "blog@docker": certResolver "le" is not a configured certificate resolver (blog, label traefik.http.routers.blog.rule)',
    ]);
  });
});

describe('berth certs', () => {
  it('prints one row per certificate: names, status, expiry day, origin, stores, OCSP, source, errors', () => {
    const rows = certRows([
      {
        names: ['www.example.test', '*.example.test'],
        notAfter: '2027-03-01T12:00:00.000Z',
        fingerprint: 'ab',
        origin: 'file',
        stores: ['default'],
        isDefault: false,
        status: 'enabled',
        errors: [],
        source: { provider: 'file', origin: '/etc/berth/tls.yml', line: 4 },
        ocsp: { status: 'good', nextUpdate: '2027-01-01T00:00:00.000Z' },
      },
      {
        names: ['shop.example.test'],
        notAfter: '2027-02-01T00:00:00.000Z',
        fingerprint: 'cd',
        origin: 'acme',
        stores: ['default'],
        isDefault: false,
        status: 'enabled',
        errors: [],
        acme: {
          resolver: 'le',
          domains: ['shop.example.test'],
          routers: ['http.routers.shop@docker'],
          challenge: 'http-01',
          state: 'failed',
          notBefore: '2026-11-03T00:00:00.000Z',
          notAfter: '2027-02-01T00:00:00.000Z',
          issuedAt: '2026-11-03T00:00:00.000Z',
          expiringSoon: false,
          lastAttemptAt: '2026-12-07T10:00:00.000Z',
          lastSuccessAt: null,
          nextAttemptAt: '2026-12-07T10:04:00.000Z',
          nextReason: 'backoff',
          failures: 3,
          lastError: {
            code: 'BERTH_ACME_CA_UNREACHABLE',
            message: 'unreachable',
            at: '2026-12-07T10:00:00.000Z',
          },
          orders: 3,
        },
      },
      {
        names: [],
        notAfter: '',
        fingerprint: '',
        origin: 'default',
        stores: ['default'],
        isDefault: true,
        status: 'disabled',
        errors: [{ code: 'BERTH_TLS_CERT_EXPIRED', path: 'tls.certificates.1', message: 'expired' }],
      },
    ]);
    assert.equal(
      table(CERT_HEADERS, rows),
      [
        'NAMES                            STATUS    NOT AFTER   ORIGIN             RENEWAL                            STORES   OCSP  SOURCE                ERRORS',
        'www.example.test,*.example.test  enabled   2027-03-01  file               -                                  default  good  /etc/berth/tls.yml:4  -',
        'shop.example.test                enabled   2027-02-01  acme (le)          failed ×3, retry 2026-12-07 10:04  default  -     -                     BERTH_ACME_CA_UNREACHABLE',
        '-                                disabled  -           default (default)  -                                  default  -     -                     BERTH_TLS_CERT_EXPIRED',
      ].join('\n'),
    );
  });
});
