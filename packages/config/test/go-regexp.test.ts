// Specifies how Go (RE2) patterns and replacement templates become JavaScript's, and what is refused.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Go replacement templates are the subject here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGoRegexp, convertGoRegexp, convertGoReplacement } from '../src/index.js';

function compiled(pattern: string): RegExp {
  const result = compileGoRegexp(pattern);
  if (!result.ok) throw new Error(`expected ${pattern} to compile: ${result.message}`);
  return result.regexp;
}

function refusal(pattern: string): string {
  const result = compileGoRegexp(pattern);
  assert.equal(result.ok, false, `expected ${pattern} to be refused`);
  return (result as { message: string }).message;
}

describe('compileGoRegexp', () => {
  it('turns (?P<name>...) into a JavaScript named group', () => {
    const m = compiled('^/(?P<id>\\d+)$').exec('/42');
    assert.equal(m?.groups?.['id'], '42');
  });

  it('accepts the (?<name>...) spelling of Go 1.22 too', () => {
    assert.equal(compiled('(?<x>a)').exec('a')?.groups?.['x'], 'a');
  });

  it('turns leading (?i), (?s) and (?m) into flags', () => {
    assert.deepEqual(convertGoRegexp('(?i)abc'), { ok: true, source: 'abc', flags: 'i' });
    assert.deepEqual(convertGoRegexp('(?is)a.c'), { ok: true, source: 'a.c', flags: 'is' });
    assert.equal(compiled('(?i)^ABC$').test('abc'), true);
  });

  it('turns \\z and \\A into anchors that hold in multi-line mode too', () => {
    assert.equal(compiled('^a\\z').test('a'), true);
    assert.equal(compiled('\\Aa').test('ba'), false);
    const multi = compiled('(?m)a\\z');
    assert.equal(multi.test('a\nb'), false);
    assert.equal(multi.test('b\na'), true);
  });

  it('quotes \\Q...\\E literally and expands POSIX classes', () => {
    assert.equal(compiled('^\\Qa.b*\\E$').test('a.b*'), true);
    assert.equal(compiled('^\\Qa.b*\\E$').test('axbb'), false);
    assert.equal(compiled('^[[:alpha:]]+[[:digit:]]$').test('abc1'), true);
  });

  it("reads a ']' right after '[' as a literal, as Go does", () => {
    assert.equal(compiled('^[]a]+$').test(']a]'), true);
  });

  it('supports \\x{...}, Go control escapes and Unicode classes', () => {
    assert.equal(compiled('^\\x{41}$').test('A'), true);
    assert.equal(compiled('^\\a$').test('\x07'), true);
    assert.equal(compiled('^\\pL+$').test('héllo'), true);
    assert.equal(compiled('^\\p{Greek}+$').test('αβγ'), true);
  });

  it('refuses lookahead and lookbehind, which RE2 lacks', () => {
    assert.match(refusal('a(?=b)'), /lookahead and lookbehind/);
    assert.match(refusal('a(?!b)'), /lookahead and lookbehind/);
    assert.match(refusal('(?<=a)b'), /lookahead and lookbehind/);
    assert.match(refusal('(?<!a)b'), /lookahead and lookbehind/);
  });

  it('refuses backreferences, the ungreedy flag and inline flag groups', () => {
    assert.match(refusal('(a)\\1'), /backreference \\1/);
    assert.match(refusal('(?U)a+'), /ungreedy/);
    assert.match(refusal('a(?i:b)'), /flag group at offset 1/);
    assert.match(refusal('a(?i)b'), /flag group at offset 1/);
  });

  it('refuses unknown escapes and broken syntax with a message instead of throwing', () => {
    assert.match(refusal('\\y'), /invalid escape sequence/);
    assert.match(refusal('(a'), /missing closing \)/);
    assert.match(refusal('[a'), /missing closing \]/);
    assert.match(refusal('a\\'), /trailing backslash/);
    assert.match(refusal('a{2,1}'), /invalid regular expression/);
    assert.match(refusal('(?P<a>x)(?P<a>y)'), /duplicate group name 'a'/);
    assert.match(refusal('(?P<a>x)|(?<a>y)'), /duplicate group name 'a'/);
  });

  it('refuses absurdly long patterns', () => {
    assert.match(refusal('a'.repeat(10_001)), /longer than/);
  });
});

describe('convertGoReplacement', () => {
  const re = compiled('^/(?P<name>[a-z]+)/(\\d+)$');
  const expand = (template: string): string => '/abc/12'.replace(re, convertGoReplacement(template, re));

  it('expands $1, ${1}, $name and ${name}', () => {
    assert.equal(expand('$1'), 'abc');
    assert.equal(expand('${2}'), '12');
    assert.equal(expand('$name'), 'abc');
    assert.equal(expand('x${name}y'), 'xabcy');
  });

  it('reads ${1}2 as group 1 followed by the digit 2, never as group 12', () => {
    assert.equal(expand('${1}2'), 'abc2');
  });

  it('takes the longest name after $, as Go does, so $1x is the (missing) group 1x', () => {
    assert.equal(expand('$1x'), '');
    assert.equal(expand('$9'), '');
    assert.equal(expand('${missing}'), '');
  });

  it('keeps $$ and a $ without a name as a literal dollar', () => {
    assert.equal(expand('$$1'), '$1');
    assert.equal(expand('cost: $'), 'cost: $');
    assert.equal(expand('${'), '${');
  });

  it('expands $0 to the whole match', () => {
    assert.equal(expand('[$0]'), '[/abc/12]');
  });
});
