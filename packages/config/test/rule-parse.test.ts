// Specifies how valid rule text becomes a tree: precedence, grouping, quoting and whitespace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRule } from '../src/index.js';
import { parsed, render } from './helpers.js';

describe('parseRule on valid rules', () => {
  it('turns a single matcher into a call node that records its 1-based column', () => {
    assert.deepEqual(parseRule('  Host(`example.com`)'), {
      ok: true,
      ast: { kind: 'call', name: 'Host', args: ['example.com'], column: 3 },
    });
  });

  it('binds && tighter than ||, so A || B && C is A || (B && C)', () => {
    assert.equal(
      render(parsed('Host(`a`) || Path(`/b`) && PathPrefix(`/c`)')),
      '(Host(a) || (Path(/b) && PathPrefix(/c)))',
    );
  });

  it('reads A && B || C as (A && B) || C', () => {
    assert.equal(
      render(parsed('Host(`a`) && Path(`/b`) || Path(`/c`)')),
      '((Host(a) && Path(/b)) || Path(/c))',
    );
  });

  it('binds ! tighter than &&, so !A && B negates only A', () => {
    assert.equal(render(parsed('!Host(`a`) && Path(`/b`)')), '(!Host(a) && Path(/b))');
  });

  it('groups chains of the same operator from the left', () => {
    assert.equal(
      render(parsed('Path(`/a`) || Path(`/b`) || Path(`/c`)')),
      '((Path(/a) || Path(/b)) || Path(/c))',
    );
    assert.equal(
      render(parsed('Path(`/a`) && Path(`/b`) && Path(`/c`)')),
      '((Path(/a) && Path(/b)) && Path(/c))',
    );
  });

  it('lets parentheses override precedence', () => {
    assert.equal(
      render(parsed('(Host(`a`) || Host(`b`)) && Path(`/c`)')),
      '((Host(a) || Host(b)) && Path(/c))',
    );
  });

  it('accepts nested and redundant parentheses, and negated groups', () => {
    assert.equal(render(parsed('((Host(`a`)))')), 'Host(a)');
    assert.equal(
      render(parsed('!(Host(`a`) || (Path(`/x`) && !(PathPrefix(`/y`))))')),
      '!(Host(a) || (Path(/x) && !PathPrefix(/y)))',
    );
    assert.equal(render(parsed('!!Host(`a`)')), '!!Host(a)');
  });

  it('takes backtick strings literally, backslashes included', () => {
    assert.deepEqual(parsed('Path(`/a\\"b`)'), { kind: 'call', name: 'Path', args: ['/a\\"b'], column: 1 });
  });

  it('decodes \\" and \\\\ inside double-quoted strings', () => {
    assert.deepEqual(parsed('Path("/a\\"b\\\\c")'), {
      kind: 'call',
      name: 'Path',
      args: ['/a"b\\c'],
      column: 1,
    });
  });

  it('accepts several arguments, mixing quote styles, for Host', () => {
    assert.deepEqual(parsed('Host(`a.com`, "b.com",`c.com`)'), {
      kind: 'call',
      name: 'Host',
      args: ['a.com', 'b.com', 'c.com'],
      column: 1,
    });
  });

  it('allows whitespace, tabs and newlines between any two tokens', () => {
    const ast = parsed(' \tHost ( `a` ,\n `b` )\n&&\r\n! ( Path(`/`) ) ');
    assert.equal(render(ast), '(Host(a,b) && !Path(/))');
  });

  it('keeps whitespace that is inside a string argument', () => {
    assert.deepEqual(parsed('Path(`/a b`)'), { kind: 'call', name: 'Path', args: ['/a b'], column: 1 });
  });

  it('records the column of every call in a compound rule', () => {
    const ast = parsed('Host(`a`) && (Path(`/b`) || !PathPrefix(`/c`))');
    assert.ok(ast.kind === 'and' && ast.right.kind === 'or' && ast.right.right.kind === 'not');
    assert.deepEqual(
      [ast.left, ast.right.left, ast.right.right.operand].map((n) => n.kind === 'call' && n.column),
      [1, 15, 30],
    );
  });
});
