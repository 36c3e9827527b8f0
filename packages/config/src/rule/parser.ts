// Recursive-descent parser for Traefik v3 rules: `||` binds loosest, then `&&`, then `!`.
import { ConfigErrorCodes } from '../errors.js';
import { callWarnings, checkCalls } from './check-calls.js';
import { type Token, tokenize } from './lexer.js';
import type { MatcherTable } from './matchers.js';
import { httpMatchers } from './matchers-v2.js';
import type { ParseResult, RuleError, RuleNode, RuleSyntax } from './types.js';

const SYNTAX = ConfigErrorCodes.RULE_SYNTAX;
/** Parentheses and `!` recurse; the cap keeps hostile input from exhausting the stack. */
const MAX_NESTING = 100;

/**
 * Never throws: every problem comes back as the first error, with its column. `matchers` is a
 * rule syntax (HTTP matchers of Traefik v3, the default, or v2) or a table of its own (TCP).
 */
export function parseRule<V>(text: string, matchers?: MatcherTable<V> | RuleSyntax): ParseResult {
  const table = typeof matchers === 'string' ? (httpMatchers(matchers) as MatcherTable<V>) : matchers;
  if (text.trim() === '') {
    return { ok: false, error: { code: SYNTAX, message: 'rule is empty at column 1', column: 1 } };
  }
  const lexed = tokenize(text);
  if (!lexed.ok) return lexed;
  const parser = new Parser(lexed.tokens);
  let ast: RuleNode;
  try {
    ast = parser.parseRule();
  } catch (err) {
    if (err instanceof SyntaxFailure) return { ok: false, error: err.error };
    throw err;
  }
  // Syntax is reported before meaning: a rule that does not parse has no trustworthy calls to check.
  const problem = checkCalls(ast, table);
  if (problem !== null) return { ok: false, error: problem };
  const warnings = callWarnings(ast, table);
  return warnings.length === 0 ? { ok: true, ast } : { ok: true, ast, warnings };
}

/** Internal unwinding only; parseRule converts it back into a returned error. */
class SyntaxFailure extends Error {
  constructor(readonly error: RuleError) {
    super(error.message);
  }
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseRule(): RuleNode {
    const node = this.parseOr();
    const next = this.peek();
    if (next.kind !== 'end') this.fail("'&&', '||' or end of rule", next);
    return node;
  }

  private parseOr(): RuleNode {
    let left = this.parseAnd();
    while (this.peek().kind === 'or') {
      this.index++;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): RuleNode {
    let left = this.parseUnary();
    while (this.peek().kind === 'and') {
      this.index++;
      left = { kind: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): RuleNode {
    const token = this.peek();
    if (token.kind === 'not') {
      this.index++;
      return this.nested(token, () => ({ kind: 'not', operand: this.parseUnary() }));
    }
    if (token.kind === 'lparen') {
      this.index++;
      return this.nested(token, () => {
        const inner = this.parseOr();
        const close = this.peek();
        if (close.kind !== 'rparen') {
          this.fail(close.kind === 'end' ? "')'" : "'&&', '||' or ')'", close);
        }
        this.index++;
        return inner;
      });
    }
    if (token.kind === 'name') return this.parseCall(token);
    return this.fail("a matcher, '!' or '('", token);
  }

  private parseCall(name: Token): RuleNode {
    this.index++;
    const open = this.peek();
    if (open.kind !== 'lparen') this.fail(`'(' after '${name.text}'`, open);
    this.index++;
    const args: string[] = [];
    if (this.peek().kind === 'rparen') {
      this.index++;
      return { kind: 'call', name: name.text, args, column: name.column };
    }
    for (;;) {
      const arg = this.peek();
      if (arg.kind !== 'string') this.fail('a quoted string argument', arg);
      args.push(arg.value);
      this.index++;
      const sep = this.peek();
      this.index++;
      if (sep.kind === 'rparen') break;
      if (sep.kind !== 'comma') this.fail(sep.kind === 'end' ? "')'" : "',' or ')'", sep);
    }
    return { kind: 'call', name: name.text, args, column: name.column };
  }

  private nested(at: Token, parse: () => RuleNode): RuleNode {
    if (this.depth >= MAX_NESTING) {
      throw new SyntaxFailure({
        code: SYNTAX,
        message: `rule nests deeper than ${MAX_NESTING} levels at column ${at.column}`,
        column: at.column,
      });
    }
    this.depth++;
    const node = parse();
    this.depth--;
    return node;
  }

  private peek(): Token {
    // The lexer always ends the list with an `end` token, and the parser never steps past it.
    return this.tokens[Math.min(this.index, this.tokens.length - 1)]!;
  }

  private fail(expected: string, found: Token): never {
    throw new SyntaxFailure({
      code: SYNTAX,
      message: `expected ${expected} at column ${found.column}, found ${describe(found)}`,
      column: found.column,
    });
  }
}

function describe(token: Token): string {
  if (token.kind === 'end') return 'end of rule';
  if (token.kind === 'string') return token.text.length > 40 ? `${token.text.slice(0, 37)}...` : token.text;
  return `'${token.text}'`;
}
