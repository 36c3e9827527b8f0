// Traefik v2 rule syntax, ported from Traefik v3's own tables (pkg/muxer/http/matcher_v2_test.go,
// pkg/muxer/tcp/matcher_v2_test.go): each case is a rule, and the URLs it must and must not match.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ConnectionView,
  compileRule,
  compileTcpRule,
  parseRule,
  parseTcpRule,
  type RequestView,
  rulePriority,
} from '../src/index.js';
import { request } from './helpers.js';

/** What the proxy hands a rule for this URL: host lower-case without port or brackets, raw path and query. */
function fromUrl(url: string, overrides: Partial<RequestView> = {}): RequestView {
  const u = new URL(url);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return request({ host, path: u.pathname, query: u.search.slice(1), ...overrides });
}

function v2(rule: string): (req: RequestView) => boolean {
  const parsed = parseRule(rule, 'v2');
  if (!parsed.ok) throw new Error(`expected ${rule} to parse as v2: ${parsed.error.message}`);
  return compileRule(parsed.ast, 'v2').match;
}

function refused(rule: string): void {
  assert.equal(parseRule(rule, 'v2').ok, false, `expected ${rule} to be refused under v2`);
}

/** rule → URL → matches (Traefik's 200) or not (404). */
type Table = ReadonlyArray<[string, Readonly<Record<string, boolean>>]>;

function check(table: Table): void {
  for (const [rule, urls] of table) {
    const match = v2(rule);
    for (const [url, expected] of Object.entries(urls)) {
      assert.equal(match(fromUrl(url)), expected, `${rule} on ${url}`);
    }
  }
}

describe('v2 Host and HostHeader', () => {
  it('match any of several hosts, case-insensitively, with or without a trailing dot', () => {
    check([
      [
        'Host(`example.com`, `example.org`)',
        {
          'https://example.com': true,
          'https://example.com:8080': true,
          'https://EXAMPLE.COM/path': true,
          'https://example.org/path': true,
          'https://example.net': false,
        },
      ],
      ['Host(`example.com.`)', { 'https://example.com': true, 'https://example.com./path': true }],
      ['Host(`example.com`)', { 'https://example.com.': true, 'https://example.org.': false }],
      ['Host(`EXAMPLE.COM`)', { 'https://example.com/path': true, 'https://example.org': false }],
      ['Host(`xn--9t9h.com`)', { 'https://xn--9t9h.com/path': true, 'https://example.com': false }],
      ['HostHeader(`localhost`)', { 'http://localhost/foo': true, 'http://bar/foo': false }],
      ['Host(`127.0.0.1`)', { 'http://127.0.0.1/foo': true }],
      ['Host(`10::10`)', { 'http://[10::10]/foo': true }],
      // One argument holding a comma is one (odd) host name: accepted, never matches.
      ['Host(`nope,localhost`) && PathPrefix(`/bar`)', { 'http://localhost/foo': false }],
    ]);
  });

  it('refuses no argument, an empty one and non-ASCII names', () => {
    for (const rule of ['Host()', 'Host(``)', 'Host(`🦭.com`)', 'Host(`locàlhost`)']) refused(rule);
  });
});

describe('v2 HostRegexp', () => {
  it('reads regexps only inside {name:pattern}; the rest is a literal, anchored, case-insensitive host', () => {
    check([
      // Outside braces, `(` is a literal character: accepted, and no host has it.
      ['HostRegexp(`(example.com`)', { 'https://example.com': false, 'https://example.org': false }],
      [
        'HostRegexp(`example.com`, `example.org`)',
        {
          'https://example.com:8080': true,
          'https://example.org/path': true,
          'https://a.example.com': false,
        },
      ],
      ['HostRegexp(`^[A-Z]+\\.com$`)', { 'https://example.com': false, 'https://EXAMPLE.com': false }],
      [
        'HostRegexp(`{domain:[a-zA-Z-]+\\.com}`)',
        { 'https://example.com/path': true, 'https://example.org/path': false },
      ],
      [
        'HostRegexp(`{subdomain:(foo\\.)?bar\\.com}`)',
        {
          'http://foo.bar.com': true,
          'http://bar.com': true,
          'http://fooubar.com': false,
          'http://barucom': false,
        },
      ],
      [
        'HostRegexp(`{subdomain:(?:foo\\.)?bar\\.com}`)',
        { 'http://foo.bar.com': true, 'http://bar.com': true, 'http://barcom': false },
      ],
      // The corpus's catch-all and subdomain forms; `{name}` alone is one label.
      ['HostRegexp(`{any:.+}`)', { 'http://anything.example/': true }],
      [
        'HostRegexp(`{subdomain:[a-z]+}.traefik.com`)',
        { 'http://foo.traefik.com': true, 'http://FOO.traefik.com': true, 'http://a.b.traefik.com': false },
      ],
      ['HostRegexp(`{sub}.example.com`)', { 'http://a.example.com': true, 'http://a.b.example.com': false }],
    ]);
  });

  it('refuses unbalanced braces, an empty name or pattern, and non-ASCII', () => {
    for (const rule of [
      'HostRegexp()',
      'HostRegexp(``)',
      'HostRegexp(`{test`)',
      'HostRegexp(`{:[a-z]+}.a.com`)',
      'HostRegexp(`🦭.com`)',
    ])
      refused(rule);
  });
});

describe('v2 Path and PathPrefix', () => {
  it('match any of several paths; templates are anchored regexps, a prefix only at the start', () => {
    check([
      [
        'Path(`/css`, `/js`)',
        {
          'https://example.com': false,
          'https://example.org/css': true,
          'https://example.com/css/': false,
          'https://example.com/js': true,
          'https://example.com/js/main.js': false,
        },
      ],
      [
        'Path(`/css{path:(/.*)?}`)',
        {
          'https://example.com/css/main.css': true,
          'https://example.com/css/components/component.css': true,
          'https://example.com/css.css': false,
          'https://example.com/js/main.js': false,
        },
      ],
      [
        'PathPrefix(`/css`, `/js`)',
        {
          'https://example.com/html': false,
          'https://example.com/css/main.css': true,
          'https://example.com/js/': true,
        },
      ],
      [
        'PathPrefix(`/css-{name:[0-9]?}`)',
        {
          'https://example.com/css-1/main.css': true,
          'https://example.org/css-222/main.css': true,
          'https://example.com/css.css': false,
        },
      ],
      // File 49 of the corpus: `/app1` exactly, or anything under `/app1/`.
      [
        'PathPrefix(`/app1{regex:$|/.*}`)',
        { 'http://a/app1': true, 'http://a/app1/x': true, 'http://a/app10': false },
      ],
      ['Path(`/{id:[0-9]+}`)', { 'http://a/42': true, 'http://a/42/x': false }],
      ['Path(`/{id}`)', { 'http://a/42': true, 'http://a/42/x': false }],
    ]);
  });

  it('refuses a path without its leading slash and empty arguments', () => {
    for (const rule of ['Path()', 'Path(``)', 'Path(`css`)', 'PathPrefix(`css`)', 'Path(``, `/titi`)'])
      refused(rule);
  });
});

describe('v2 Method, ClientIP', () => {
  it('Method matches any listed method; the rule folds case, the request does not', () => {
    const match = v2('Method(`get`, `POST`)');
    assert.equal(match(request({ method: 'GET' })), true);
    assert.equal(match(request({ method: 'POST' })), true);
    assert.equal(match(request({ method: 'get' })), false);
    assert.equal(match(request({ method: 'PUT' })), false);
    refused('Method(``)');
  });

  it('ClientIP matches any listed address or range', () => {
    const match = v2('ClientIP(`11.0.0.0/16`, `10.0.0.0`, `10::/16`)');
    assert.equal(match(request({ clientIp: '10.0.0.0' })), true);
    assert.equal(match(request({ clientIp: '11.0.3.4' })), true);
    assert.equal(match(request({ clientIp: '10::10' })), true);
    assert.equal(match(request({ clientIp: '12.0.0.1' })), false);
    for (const rule of ['ClientIP(`1`)', 'ClientIP(``)', 'ClientIP(`invalid`)']) refused(rule);
  });
});

describe('v2 Headers and HeadersRegexp', () => {
  const withHeaders = (headers: RequestView['headers']) => request({ headers });

  it('Headers needs every name and value pair; the value must equal one of the values', () => {
    const match = v2('Headers(`X-Forwarded-Proto`, `https`)');
    assert.equal(match(withHeaders({ 'x-forwarded-proto': 'https' })), true);
    assert.equal(match(withHeaders({ 'x-forwarded-proto': ['http', 'https'] })), true);
    assert.equal(match(withHeaders({ 'x-forwarded-host': 'example.com' })), false);
    const both = v2('Headers(`A`, `1`, `B`, `2`)');
    assert.equal(both(withHeaders({ a: '1', b: '2' })), true);
    assert.equal(both(withHeaders({ a: '1' })), false);
    // File 32 of the corpus.
    const bypass = v2(
      'Host(`radarr.home.example.com`) && Headers(`traefik-auth-bypass-key`, `bypass-key-placeholder`)',
    );
    const radarr = fromUrl('https://radarr.home.example.com/api', {
      headers: { 'traefik-auth-bypass-key': 'bypass-key-placeholder' },
    });
    assert.equal(bypass(radarr), true);
    assert.equal(bypass({ ...radarr, headers: {} }), false);
  });

  it('HeadersRegexp searches a plain Go regexp (braces are literal there) in each value', () => {
    const match = v2('HeadersRegexp(`X-Forwarded-Proto`, `^https?$`)');
    assert.equal(match(withHeaders({ 'x-forwarded-proto': 'http' })), true);
    assert.equal(match(withHeaders({ 'x-forwarded-proto': 'HTTPS' })), false);
    assert.equal(match(withHeaders({ 'x-forwarded-proto': ['ws', 'https'] })), true);
    const literal = v2('HeadersRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)');
    assert.equal(literal(withHeaders({ 'x-forwarded-proto': 'https' })), false);
    assert.equal(literal(withHeaders({ 'x-forwarded-proto': 'http{secure:s}' })), true);
    assert.equal(literal(withHeaders({ 'x-forwarded-proto': 'http{secure:}' })), true);
    const unanchored = v2('HeadersRegexp(`Content-Type`, `application/(text|json)`)');
    assert.equal(unanchored(withHeaders({ 'content-type': 'application/json; charset=utf-8' })), true);
  });

  it('refuses a missing, empty or odd argument and a bad regexp', () => {
    for (const rule of [
      'Headers()',
      'Headers(`X-Forwarded-Host`)',
      'Headers(`X-Forwarded-Host`, ``)',
      'Headers(``, `example.com`)',
      'Headers(`X-Forwarded-Host`, `example.com`, `example.org`)',
      'HeadersRegexp(`X-Forwarded-Host`)',
      'HeadersRegexp(`X-Forwarded-Host`, `(example.com`)',
    ])
      refused(rule);
  });
});

describe('v2 Query', () => {
  it('needs every key=value pair, on the first value of each parameter', () => {
    check([
      [
        'Query(`foo=bar`, `bar=baz`)',
        { 'http://localhost/foo?foo=bar&bar=baz': true, 'http://localhost/foo?bar=baz': false },
      ],
      ['Query(`foo=b=ar`)', { 'http://localhost/foo?foo=b=ar': true, 'http://localhost/foo?foo=bar': false }],
      ['Query(`foo=`)', { 'http://a/?foo=': true, 'http://a/?foo=x': true, 'http://a/?bar=x': false }],
      ['Query(`id={id:[0-9]+}`)', { 'http://a/?id=42': true, 'http://a/?id=x': false }],
      ['Query(`a=1`)', { 'http://a/?a=1&a=2': true, 'http://a/?a=2&a=1': false }],
    ]);
  });

  it('refuses a parameter without = and a broken template', () => {
    refused('Query(`titi`)');
    refused('Query(`titi={test`)');
  });
});

describe('v2 rules as a whole', () => {
  it('combine with &&, || and ! as v3 rules do', () => {
    check([
      [
        'Host(`tchouk`,`pouet`) && Path(`/powpow`, `/titi`)',
        {
          'http://tchouk/toto': false,
          'http://tchouk/powpow': true,
          'http://pouet/titi': true,
          'http://plopi/a': false,
        },
      ],
      [
        '!(Host(`tchouk`,`pouet`) && Path(`/powpow`, `/titi`))',
        { 'http://tchouk/toto': true, 'http://pouet/powpow': false, 'http://plopi/a': true },
      ],
      ['!(Host(`tchouk`) && !Path(`/titi`))', { 'http://tchouk/titi': true, 'http://tchouk/toto': false }],
    ]);
  });

  it('knows only the v2 matchers: v3-only ones are unknown, as in Traefik', () => {
    for (const rule of [
      'Header(`a`, `b`)',
      'HeaderRegexp(`a`, `b`)',
      'QueryRegexp(`a`, `b`)',
      'PathRegexp(`/a`)',
    ]) {
      const parsed = parseRule(rule, 'v2');
      assert.equal(parsed.ok ? '' : parsed.error.code, 'BERTH_CONFIG_RULE_UNKNOWN_MATCHER', rule);
    }
  });

  it("keeps Traefik's default priority, the rule's length, for v2 rules", () => {
    // File 02 of the corpus: effectivePriority 47.
    assert.equal(rulePriority('Host(`home.example.com`,`www.home.example.com`)'), 47);
  });

  it('binds the rule to its Host names for the host index, as v3 does', () => {
    const parsed = parseRule('Host(`a.com`, `B.com`) && Headers(`x`, `1`)', 'v2');
    assert.ok(parsed.ok);
    assert.deepEqual(compileRule(parsed.ast, 'v2').hosts, ['a.com', 'b.com']);
  });
});

describe('v2 TCP rules', () => {
  const conn = (serverName: string, overrides: Partial<ConnectionView> = {}): ConnectionView => ({
    serverName,
    alpn: [],
    clientIp: '10.0.0.1',
    tls: true,
    ...overrides,
  });
  const tcp = (rule: string) => {
    const parsed = parseTcpRule(rule, 'v2');
    if (!parsed.ok) throw new Error(`expected ${rule} to parse as v2: ${parsed.error.message}`);
    return compileTcpRule(parsed.ast, 'v2');
  };

  it('HostSNIRegexp takes several templates, anchored and case-insensitive (file 65 of the corpus)', () => {
    const { match } = tcp('HostSNIRegexp(`nas.example.com`, `{subdomain:[a-z]+}.nas.example.com`)');
    assert.equal(match(conn('nas.example.com')), true);
    assert.equal(match(conn('photos.nas.example.com')), true);
    assert.equal(match(conn('xnas.example.com')), false);
    assert.equal(match(conn('a.b.nas.example.com')), false);
  });

  it('HostSNI, ClientIP and ALPN take several arguments; `*` first matches every connection', () => {
    assert.equal(tcp('HostSNI(`a.com`, `b.com`)').match(conn('b.com')), true);
    assert.deepEqual(tcp('HostSNI(`a.com`, `B.com`)').hosts, ['a.com', 'b.com']);
    const all = tcp('HostSNI(`*`)');
    assert.equal(all.catchAll, true);
    assert.equal(all.match(conn('', { tls: false })), true);
    assert.equal(tcp('ClientIP(`10.0.0.0/8`, `192.0.2.1`)').match(conn('a')), true);
    assert.equal(tcp('ALPN(`h2`, `http/1.1`)').match(conn('a', { alpn: ['http/1.1'] })), true);
    for (const rule of ['HostSNI(``)', 'HostSNI(`a b`)', 'ALPN(`acme-tls/1`)', 'HostSNIRegexp(`{a`)']) {
      assert.equal(parseTcpRule(rule, 'v2').ok, false, rule);
    }
  });

  it('under v3, HostSNIRegexp takes one argument and warns about a template', () => {
    assert.equal(parseTcpRule('HostSNIRegexp(`a`, `b`)').ok, false);
    const parsed = parseTcpRule('HostSNIRegexp(`{sub:[a-z]+}.a.com`)');
    assert.ok(parsed.ok);
    assert.equal(parsed.warnings?.[0]?.code, 'BERTH_CONFIG_RULE_NEVER_MATCHES');
  });
});
