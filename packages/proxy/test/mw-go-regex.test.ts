// Go regexps and replacement templates as Traefik configurations write them.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${name} is Go template syntax under test, not a JS placeholder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MiddlewareConfigError } from '../src/http/context.js';
import { compileGoRegex, GoRegex, goRegexToJs } from '../src/http/middlewares/go-regex-a.js';

describe('Go regexp translation', () => {
  it('turns (?P<name>...) into a JS named group', () => {
    const re = new GoRegex('^/(?P<user>[a-z]+)/profile$');
    assert.equal(re.exec('/ann/profile')?.groups?.['user'], 'ann');
  });

  it('turns a leading (?i) into the i flag', () => {
    const { source, flags } = goRegexToJs('(?i)^https://example\\.com$');
    assert.equal(flags, 'i');
    assert.ok(new RegExp(source, flags).test('HTTPS://EXAMPLE.com'));
    assert.ok(!new RegExp(source, flags).test('https://exampleXcom'));
    assert.ok(new GoRegex('(?i)^HTTPS://Example\\.COM$').test('https://example.com'));
  });

  it('reads \\A, \\z, \\Q...\\E and POSIX classes', () => {
    const re = new GoRegex('\\A\\Q/a.b\\E[[:digit:]]+\\z');
    assert.ok(re.test('/a.b42'));
    assert.ok(!re.test('/axb42'));
    assert.ok(!re.test('/a.b42x'));
  });

  it('keeps a ] right after [ as a literal, as RE2 does', () => {
    assert.ok(new GoRegex('^[]a]+$').test(']a]'));
  });

  it('accepts one-letter Unicode classes such as \\pL', () => {
    assert.ok(new GoRegex('^\\pL+$').test('héllo'));
  });

  it('refuses what RE2 refuses: look-arounds, back-references, flags mid-pattern', () => {
    assert.throws(() => goRegexToJs('a(?=b)'));
    assert.throws(() => goRegexToJs('(a)\\1'));
    assert.throws(() => goRegexToJs('a(?i)b'));
  });

  it('reports a broken pattern as a middleware configuration error', () => {
    assert.throws(
      () => compileGoRegex('([a-z', 'test'),
      (err: unknown) => err instanceof MiddlewareConfigError && err.code === 'BERTH_PROXY_MIDDLEWARE_CONFIG',
    );
  });
});

describe('Go ReplaceAllString', () => {
  it('expands $1, ${1}, $name, ${name} and $$', () => {
    const re = new GoRegex('^/(?P<a>[a-z]+)/(\\d+)$');
    assert.equal(re.replaceAll('/x/12', '/$2/${a}/$a/$$/${1}'), '/12/x/x/$/x');
  });

  it('expands unknown groups and $1x-style names to nothing', () => {
    const re = new GoRegex('^(a)');
    assert.equal(re.replaceAll('ab', '[$1x][${9}][$01]'), '[][][]b');
  });

  it('keeps a malformed dollar as text', () => {
    assert.equal(new GoRegex('a').replaceAll('a', '$-${'), '$-${');
  });

  it('replaces every match, skipping an empty match right after a match', () => {
    assert.equal(new GoRegex('a*').replaceAll('baaac', 'X'), 'XbXcX');
    assert.equal(new GoRegex('o').replaceAll('foo', '0'), 'f00');
  });
});
