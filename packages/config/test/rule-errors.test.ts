// Specifies the errors parseRule returns: their codes, exact columns and helpful messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ParseResult, parseRule, type RuleError } from '../src/index.js';

function errorOf(rule: string): RuleError {
  const result: ParseResult = parseRule(rule);
  assert.equal(result.ok, false, `expected ${rule} to be rejected`);
  return (result as Extract<ParseResult, { ok: false }>).error;
}

function assertError(rule: string, code: string, column: number, message?: string): void {
  const error = errorOf(rule);
  assert.equal(error.code, code, error.message);
  assert.equal(error.column, column, error.message);
  if (message !== undefined) assert.equal(error.message, message);
}

const SYNTAX = 'BERTH_CONFIG_RULE_SYNTAX';
const UNKNOWN = 'BERTH_CONFIG_RULE_UNKNOWN_MATCHER';
const ARGS = 'BERTH_CONFIG_RULE_ARGS';

describe('parseRule syntax errors', () => {
  it('reports an empty or blank rule at column 1', () => {
    assertError('', SYNTAX, 1, 'rule is empty at column 1');
    assertError('   \n ', SYNTAX, 1);
  });

  it('reports an unclosed group where the rule ends', () => {
    assertError('(Host(`a`) || Path(`/b`)', SYNTAX, 25, "expected ')' at column 25, found end of rule");
  });

  it('reports an unclosed argument list where the rule ends', () => {
    assertError(
      'Host(`example.com`) && Path(`/x`',
      SYNTAX,
      33,
      "expected ')' at column 33, found end of rule",
    );
  });

  it('reports two calls with no && or || between them at the second call', () => {
    assertError(
      'Host(`a`) Path(`/`)',
      SYNTAX,
      11,
      "expected '&&', '||' or end of rule at column 11, found 'Path'",
    );
    assertError('(Host(`a`) Path(`/`))', SYNTAX, 12, "expected '&&', '||' or ')' at column 12, found 'Path'");
  });

  it('reports an unterminated string at its opening quote', () => {
    assertError('Host(`a.com)', SYNTAX, 6, 'unterminated string starting at column 6');
    assertError('Path(`/`) && Host("a.com)', SYNTAX, 19);
  });

  it('treats a newline inside a double-quoted string as a missing closing quote', () => {
    assertError('Host("a\n") ', SYNTAX, 6);
  });

  it('reports trailing garbage after a complete rule', () => {
    assertError('Host(`a`))', SYNTAX, 10, "expected '&&', '||' or end of rule at column 10, found ')'");
    assertError('Host(`a`) `b`', SYNTAX, 11);
  });

  it('reports an operator with nothing after it at the end of the rule', () => {
    assertError('Host(`a`) &&', SYNTAX, 13, "expected a matcher, '!' or '(' at column 13, found end of rule");
    assertError('Host(`a`) || )', SYNTAX, 14);
  });

  it('reports a single & or | with a hint', () => {
    assertError('Host(`a`) & Path(`/`)', SYNTAX, 11, "unexpected '&' at column 11; did you mean '&&'?");
    assertError('Host(`a`) | Path(`/`)', SYNTAX, 11);
  });

  it('rejects single quotes, which Traefik does not accept for strings', () => {
    const error = errorOf("Host('a')");
    assert.equal(error.column, 6);
    assert.match(error.message, /backticks or double quotes/);
  });

  it('rejects arguments that are not quoted strings, and trailing commas', () => {
    assertError('Host(a)', SYNTAX, 6, "expected a quoted string argument at column 6, found 'a'");
    assertError('Host(`a`,)', SYNTAX, 10);
    assertError('Host(`a` `b`)', SYNTAX, 10, "expected ',' or ')' at column 10, found `b`");
  });

  it('reports a matcher name without an argument list', () => {
    assertError('Host && Path(`/`)', SYNTAX, 6, "expected '(' after 'Host' at column 6, found '&&'");
  });

  it('rejects escapes Go would not decode', () => {
    assertError('Path("/a\\d")', SYNTAX, 9, "unsupported escape sequence '\\d' at column 9");
  });

  it('rejects characters outside the rule language', () => {
    assertError('Host(`a`) && 42', SYNTAX, 14, "unexpected character '4' at column 14");
  });

  it('returns an error instead of overflowing the stack on absurd nesting', () => {
    const deep = `${'('.repeat(10_000)}Host(\`a\`)${')'.repeat(10_000)}`;
    assert.equal(errorOf(deep).code, SYNTAX);
    assert.equal(errorOf(`${'!'.repeat(10_000)}Host(\`a\`)`).code, SYNTAX);
  });

  it('reports a syntax error before any unknown matcher earlier in the rule', () => {
    assertError('Verb(`GET`) &&', SYNTAX, 15);
  });
});

describe('parseRule matcher errors', () => {
  it('reports an unknown matcher at its name and lists the known ones', () => {
    assertError(
      'Host(`a`) && Hostname(`GET`)',
      UNKNOWN,
      14,
      "unknown matcher 'Hostname' at column 14; known matchers: Host, Path, PathPrefix, HostRegexp, PathRegexp, Method, Header, HeaderRegexp, Query, QueryRegexp, ClientIP",
    );
  });

  it('is case-sensitive about matcher names but suggests the right spelling', () => {
    assertError('host(`a`)', UNKNOWN, 1, "unknown matcher 'host' at column 1; did you mean 'Host'?");
    assertError('Path(`/`) || PATHPREFIX(`/a`)', UNKNOWN, 14);
    assert.match(errorOf('PATHPREFIX(`/a`)').message, /did you mean 'PathPrefix'\?/);
  });

  it('does not mistake Object.prototype members for matchers', () => {
    assertError('constructor(`a`)', UNKNOWN, 1);
    assertError('__proto__(`a`)', UNKNOWN, 1);
  });

  it('reports an empty argument list at the matcher name', () => {
    assertError(
      'Path(`/a`) && Host()',
      ARGS,
      15,
      'wrong number of arguments at column 15: Host takes at least 1 argument, got 0',
    );
  });

  it('reports too many arguments for single-argument matchers', () => {
    assertError(
      'Path(`/a`, `/b`)',
      ARGS,
      1,
      'wrong number of arguments at column 1: Path takes exactly 1 argument, got 2',
    );
    assertError('PathPrefix(`/a`, `/b`)', ARGS, 1);
  });

  it('rejects an empty host, even one hidden among others', () => {
    assertError('Host(``)', ARGS, 1);
    assertError('Host(`a.com`, ``)', ARGS, 1);
    assertError('Host(`.`)', ARGS, 1);
  });

  it('rejects hosts with a port, a wildcard, spaces or non-ASCII letters', () => {
    assert.match(errorOf('Host(`a.com:8080`)').message, /must not include a port/);
    assert.match(errorOf('Host(`[::1]:443`)').message, /must not include a port/);
    assert.match(errorOf('Host(`*.a.com`)').message, /wildcard/);
    assert.match(errorOf('Host(`a b`)').message, /not a valid host name/);
    assert.match(errorOf('Host(`bücher.de`)').message, /punycode/);
  });

  it('accepts IP literals as hosts', () => {
    for (const rule of ['Host(`10.0.0.1`)', 'Host(`[::1]`)', 'Host(`::1`)', 'Host(`xn--bcher-kva.de`)']) {
      assert.equal(parseRule(rule).ok, true, rule);
    }
  });

  it('rejects paths that do not start with a slash', () => {
    assertError('Path(`api`)', ARGS, 1, "invalid argument at column 1: Path 'api' must start with '/'");
    assertError('Host(`a`) && PathPrefix(``)', ARGS, 14);
  });

  it('reports the first matcher problem in reading order', () => {
    assertError('Path(`x`) && Method(`GET`)', ARGS, 1);
    assertError('Verb(`GET`) && Path(`x`)', UNKNOWN, 1);
  });
});
