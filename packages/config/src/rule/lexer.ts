// Splits rule text into tokens, each tagged with the 1-based column where it starts.
import { ConfigErrorCodes } from '../errors.js';
import type { RuleError } from './types.js';

export type TokenKind = 'name' | 'string' | 'lparen' | 'rparen' | 'comma' | 'and' | 'or' | 'not' | 'end';

export interface Token {
  kind: TokenKind;
  /** The token as written (quotes included for strings); '' for the end token. */
  text: string;
  /** For strings: the decoded value. Otherwise the same as `text`. */
  value: string;
  column: number;
}

type LexFailure = { ok: false; error: RuleError };
export type LexResult = { ok: true; tokens: Token[] } | LexFailure;

const SYNTAX = ConfigErrorCodes.RULE_SYNTAX;
const PUNCTUATION: Readonly<Record<string, TokenKind>> = {
  '(': 'lparen',
  ')': 'rparen',
  ',': 'comma',
  '!': 'not',
};
// Go's interpreted string escapes, which Traefik's rule parser inherits; \x, \u and octal are left out.
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isNameStart = (c: string): boolean => /^[A-Za-z_]$/.test(c);
const isNamePart = (c: string): boolean => /^[A-Za-z0-9_]$/.test(c);

function fail(message: string, index: number): LexFailure {
  return { ok: false, error: { code: SYNTAX, message, column: index + 1 } };
}

export function tokenize(text: string): LexResult {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (isSpace(c)) {
      i++;
      continue;
    }
    const column = i + 1;
    const punct = PUNCTUATION[c];
    if (punct !== undefined) {
      tokens.push({ kind: punct, text: c, value: c, column });
      i++;
    } else if (c === '&' || c === '|') {
      if (text[i + 1] !== c) {
        return fail(`unexpected '${c}' at column ${column}; did you mean '${c}${c}'?`, i);
      }
      const op = c + c;
      tokens.push({ kind: c === '&' ? 'and' : 'or', text: op, value: op, column });
      i += 2;
    } else if (isNameStart(c)) {
      let end = i + 1;
      while (end < text.length && isNamePart(text[end]!)) end++;
      const name = text.slice(i, end);
      tokens.push({ kind: 'name', text: name, value: name, column });
      i = end;
    } else if (c === '`') {
      const close = text.indexOf('`', i + 1);
      if (close < 0) return fail(`unterminated string starting at column ${column}`, i);
      tokens.push({
        kind: 'string',
        text: text.slice(i, close + 1),
        value: text.slice(i + 1, close),
        column,
      });
      i = close + 1;
    } else if (c === '"') {
      const read = readQuoted(text, i);
      if (!read.ok) return read;
      tokens.push(read.token);
      i = read.end;
    } else if (c === "'") {
      return fail(`unexpected "'" at column ${column}; quote arguments with backticks or double quotes`, i);
    } else {
      return fail(`unexpected character '${c}' at column ${column}`, i);
    }
  }
  tokens.push({ kind: 'end', text: '', value: '', column: text.length + 1 });
  return { ok: true, tokens };
}

function readQuoted(text: string, start: number): { ok: true; token: Token; end: number } | LexFailure {
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      return {
        ok: true,
        token: { kind: 'string', text: text.slice(start, i + 1), value, column: start + 1 },
        end: i + 1,
      };
    }
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined) break;
      const decoded = ESCAPES[next];
      if (decoded === undefined) return fail(`unsupported escape sequence '\\${next}' at column ${i + 1}`, i);
      value += decoded;
      i += 2;
      continue;
    }
    // Go forbids raw newlines in double-quoted strings; so do we, which catches a missing quote early.
    if (c === '\n') break;
    value += c;
    i++;
  }
  return fail(`unterminated string starting at column ${start + 1}`, start);
}
