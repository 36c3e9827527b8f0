// Specifies the matchers beyond Host and Path: regexes, method, headers, query, client IP, and host indexing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CompiledRule, compileRule, parseRule, type RuleError } from '../src/index.js';
import { parsed, request } from './helpers.js';

const compile = (rule: string): CompiledRule => compileRule(parsed(rule));
const matches = (rule: string, overrides: Parameters<typeof request>[0]): boolean =>
  compile(rule).match(request(overrides));

function errorOf(rule: string): RuleError {
  const result = parseRule(rule);
  assert.equal(result.ok, false, `expected ${rule} to be rejected`);
  return (result as { error: RuleError }).error;
}

describe('HostRegexp and PathRegexp', () => {
  it('searches the lower-case host with a Go pattern, anchored only where the pattern says', () => {
    assert.equal(matches('HostRegexp(`^[a-z]+\\.example\\.com$`)', { host: 'api.example.com' }), true);
    assert.equal(matches('HostRegexp(`^[a-z]+\\.example\\.com$`)', { host: 'example.com' }), false);
    assert.equal(matches('HostRegexp(`example`)', { host: 'www.example.org' }), true);
  });

  it('ignores a trailing dot on the request host', () => {
    assert.equal(matches('HostRegexp(`^a\\.com$`)', { host: 'a.com.' }), true);
  });

  it('accepts Go syntax such as (?P<name>...) and (?i)', () => {
    assert.equal(
      matches('HostRegexp(`(?i)^(?P<sub>[a-z]+)\\.EXAMPLE\\.com$`)', { host: 'x.example.com' }),
      true,
    );
  });

  it('matches PathRegexp against the path without the query', () => {
    assert.equal(matches('PathRegexp(`^/api/v[0-9]+/`)', { path: '/api/v2/users' }), true);
    assert.equal(matches('PathRegexp(`^/api/v[0-9]+/`)', { path: '/api/vx/users' }), false);
    assert.equal(matches('PathRegexp(`\\.php$`)', { path: '/index.php', query: 'a=.php' }), true);
  });

  it('rejects a bad pattern with RULE_ARGS at the matcher column', () => {
    const error = errorOf('Host(`a`) && PathRegexp(`(?<=x)y`)');
    assert.equal(error.code, 'BERTH_CONFIG_RULE_ARGS');
    assert.equal(error.column, 14);
    assert.match(error.message, /column 14: PathRegexp .*lookahead and lookbehind/);
  });

  it("accepts Traefik v2's {name:regex} placeholders as Traefik v3 does, warning that they never match", () => {
    const result = parseRule('Host(`a.com`) || HostRegexp(`{sub:[a-z]+}.example.com`)');
    assert.ok(result.ok);
    assert.deepEqual(
      (result.warnings ?? []).map((w) => [w.code, w.column]),
      [['BERTH_CONFIG_RULE_NEVER_MATCHES', 18]],
    );
    assert.match(result.warnings![0]!.message, /Traefik v2's \{name:regex\} syntax.*never matches under v3/);
    // Read as a v3 regexp, the braces are literal: no host has them.
    assert.equal(matches('HostRegexp(`{sub:[a-z]+}.example.com`)', { host: 'a.example.com' }), false);
    const literalPath = parseRule('PathPrefix(`/app1{regex:$|/.*}`)');
    assert.ok(literalPath.ok);
    assert.equal(literalPath.warnings?.length, 1);
    assert.equal(parseRule('PathRegexp(`/users/{id}`)').ok, true);
    const quantifier = parseRule('PathRegexp(`^/a{2,3}$`)');
    assert.ok(quantifier.ok);
    assert.equal(quantifier.warnings, undefined);
  });

  it('rejects an unbalanced pattern and a non-ASCII host pattern', () => {
    assert.equal(errorOf('HostRegexp(`(a`)').code, 'BERTH_CONFIG_RULE_ARGS');
    assert.match(errorOf('HostRegexp(`é`)').message, /not ASCII/);
  });
});

describe('Method', () => {
  it('compares the method case-insensitively', () => {
    assert.equal(matches('Method(`post`)', { method: 'POST' }), true);
    assert.equal(matches('Method(`POST`)', { method: 'GET' }), false);
  });

  it('takes exactly one method name', () => {
    assert.equal(errorOf('Method(`GET`, `POST`)').code, 'BERTH_CONFIG_RULE_ARGS');
    assert.match(errorOf('Method(`G ET`)').message, /not an HTTP method/);
  });
});

describe('Header and HeaderRegexp', () => {
  it('matches a header value exactly, with the name in any case', () => {
    assert.equal(matches('Header(`X-Env`, `prod`)', { headers: { 'x-env': 'prod' } }), true);
    assert.equal(matches('Header(`X-Env`, `prod`)', { headers: { 'x-env': 'production' } }), false);
    assert.equal(matches('Header(`X-Env`, `prod`)', { headers: {} }), false);
  });

  it('matches any of a repeated header values', () => {
    assert.equal(matches('Header(`Cookie`, `b`)', { headers: { cookie: ['a', 'b'] } }), true);
    assert.equal(matches('HeaderRegexp(`Cookie`, `^b`)', { headers: { cookie: ['a', 'bc'] } }), true);
  });

  it('searches header values with a Go pattern', () => {
    assert.equal(
      matches('HeaderRegexp(`User-Agent`, `(?i)curl`)', { headers: { 'user-agent': 'Curl/8' } }),
      true,
    );
    assert.equal(
      matches('HeaderRegexp(`User-Agent`, `^curl`)', { headers: { 'user-agent': 'x curl' } }),
      false,
    );
  });

  it('needs a valid header name and two arguments', () => {
    assert.match(errorOf('Header(`bad name`, `x`)').message, /not a valid header name/);
    assert.equal(errorOf('Header(`X`)').code, 'BERTH_CONFIG_RULE_ARGS');
    assert.equal(errorOf('HeaderRegexp(`X`, `[`)').code, 'BERTH_CONFIG_RULE_ARGS');
  });
});

describe('Query and QueryRegexp', () => {
  it('matches a decoded parameter value exactly', () => {
    assert.equal(matches('Query(`q`, `a b`)', { query: 'x=1&q=a+b' }), true);
    assert.equal(matches('Query(`q`, `a/b`)', { query: 'q=a%2Fb' }), true);
    assert.equal(matches('Query(`q`, `a`)', { query: 'q=b&q=a' }), true);
    assert.equal(matches('Query(`q`, `a`)', { query: 'q=ab' }), false);
  });

  it('reads Query(key) alone as the key with an empty value, as Traefik does', () => {
    assert.equal(matches('Query(`debug`)', { query: 'debug' }), true);
    assert.equal(matches('Query(`debug`)', { query: 'debug=' }), true);
    assert.equal(matches('Query(`debug`)', { query: 'debug=1' }), false);
    assert.equal(matches('Query(`debug`)', { query: '' }), false);
  });

  it('skips pairs with a bad escape or a semicolon, as Go does', () => {
    assert.equal(matches('Query(`q`, `a`)', { query: 'q=a;b' }), false);
    assert.equal(matches('Query(`q`, `%zz`)', { query: 'q=%zz' }), false);
  });

  it('searches parameter values with a Go pattern', () => {
    assert.equal(matches('QueryRegexp(`id`, `^[0-9]+$`)', { query: 'id=42' }), true);
    assert.equal(matches('QueryRegexp(`id`, `^[0-9]+$`)', { query: 'id=4x' }), false);
  });

  it('needs a parameter name', () => {
    assert.match(errorOf('Query(``)').message, /non-empty parameter name/);
    assert.equal(errorOf('QueryRegexp(`id`, `(`)').code, 'BERTH_CONFIG_RULE_ARGS');
  });
});

describe('ClientIP', () => {
  it('matches the peer address against a CIDR range or one address, IPv4 and IPv6', () => {
    assert.equal(matches('ClientIP(`10.0.0.0/8`)', { clientIp: '10.1.2.3' }), true);
    assert.equal(matches('ClientIP(`10.0.0.0/8`)', { clientIp: '11.1.2.3' }), false);
    assert.equal(matches('ClientIP(`192.168.1.7`)', { clientIp: '::ffff:192.168.1.7' }), true);
    assert.equal(matches('ClientIP(`2001:db8::/32`)', { clientIp: '2001:db8::1' }), true);
  });

  it('rejects what is not an address or range, at the matcher column', () => {
    const error = errorOf('PathPrefix(`/`) && ClientIP(`10.0.0.0/33`)');
    assert.equal(error.code, 'BERTH_CONFIG_RULE_ARGS');
    assert.equal(error.column, 20);
    assert.match(error.message, /not an IP address or CIDR range/);
  });
});

describe('compiled host bindings of HostRegexp', () => {
  it('files an end-anchored pattern with a literal domain tail under that suffix', () => {
    const rule = compile('HostRegexp(`^[a-z0-9-]+\\.example\\.com$`)');
    assert.equal(rule.hosts, null);
    assert.deepEqual(rule.hostSuffixes, ['.example.com']);
    assert.deepEqual(compile('HostRegexp(`.+\\.Example\\.com\\z`)').hostSuffixes, ['.example.com']);
    assert.deepEqual(compile('HostRegexp(`(?i)^(?P<s>[a-z]+)x\\.example\\.com$`)').hostSuffixes, [
      'x.example.com'.slice(1),
    ]);
  });

  it('leaves an unanchored pattern unbound, since HostRegexp searches', () => {
    const rule = compile('HostRegexp(`.+\\.example\\.com`)');
    assert.equal(rule.hosts, null);
    assert.equal(rule.hostSuffixes, null);
  });

  it('leaves patterns whose end is not literal, or that alternate at the top, unbound', () => {
    for (const pattern of [
      '^[a-z]+$',
      '^a\\.com|b\\.org$',
      '\\.com?$',
      '^a\\.(com|org)$',
      '(?s)\\.a\\.com$',
    ]) {
      assert.equal(compile(`HostRegexp(\`${pattern}\`)`).hostSuffixes, null, pattern);
    }
  });

  it('treats a fully literal anchored pattern as an exact host', () => {
    const rule = compile('HostRegexp(`^API\\.example\\.com$`)');
    assert.deepEqual(rule.hosts, ['api.example.com']);
    assert.equal(rule.hostSuffixes, null);
  });

  it('combines suffixes: || needs every branch bound, && takes a bound side', () => {
    const a = 'HostRegexp(`\\.a\\.com$`)';
    const b = 'HostRegexp(`\\.b\\.com$`)';
    assert.deepEqual(compile(`${a} || ${b}`).hostSuffixes, ['.a.com', '.b.com']);
    assert.equal(compile(`${a} || Path(\`/\`)`).hostSuffixes, null);
    assert.deepEqual(compile(`Path(\`/\`) && ${a}`).hostSuffixes, ['.a.com']);
    assert.equal(compile(`!${a}`).hostSuffixes, null);
  });

  it('prefers exact hosts over suffixes and drops exact hosts a suffix rules out', () => {
    const rule = compile('Host(`x.a.com`, `x.b.com`) && HostRegexp(`\\.a\\.com$`)');
    assert.deepEqual(rule.hosts, ['x.a.com']);
    assert.equal(rule.hostSuffixes, null);
  });

  it('leaves a mix of exact and suffix branches unbound', () => {
    const rule = compile('Host(`a.com`) || HostRegexp(`\\.b\\.com$`)');
    assert.equal(rule.hosts, null);
    assert.equal(rule.hostSuffixes, null);
  });

  it('has no suffixes for plain Host rules', () => {
    assert.equal(compile('Host(`a.com`)').hostSuffixes, null);
  });
});
