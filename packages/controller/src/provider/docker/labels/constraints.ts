// Traefik's provider constraints: `Label(`k`,`v`)`, `LabelRegex(`k`,`re`)`, `&&`, `||`, `!`, parentheses.
import { compileGoRegexp } from '@berth/config';

export type Constraint =
  | { kind: 'label'; key: string; value: string }
  | { kind: 'labelRegex'; key: string; regexp: RegExp }
  | { kind: 'not'; inner: Constraint }
  | { kind: 'and' | 'or'; left: Constraint; right: Constraint };

export type ParsedConstraints = { ok: true; match: Constraint | null } | { ok: false; message: string };

type Token = { t: 'ident' | 'str' | 'op'; v: string };

const MAX_LENGTH = 10_000;
const MAX_DEPTH = 100;

/** An empty expression matches every container. */
export function parseConstraints(text: string): ParsedConstraints {
  if (text.trim() === '') return { ok: true, match: null };
  if (text.length > MAX_LENGTH) return { ok: false, message: `longer than ${MAX_LENGTH} characters` };
  const tokens = tokenize(text);
  if (typeof tokens === 'string') return { ok: false, message: tokens };
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const fail = (message: string): never => {
    throw new ConstraintSyntax(message);
  };
  const expectOp = (v: string): void => {
    const tok = tokens[pos];
    if (tok?.t !== 'op' || tok.v !== v) fail(`expected '${v}' ${where(tok)}`);
    pos++;
  };
  const where = (tok: Token | undefined): string => (tok === undefined ? 'at the end' : `before '${tok.v}'`);
  const or = (depth: number): Constraint => {
    let left = and(depth);
    while (peek()?.t === 'op' && peek()?.v === '||') {
      pos++;
      left = { kind: 'or', left, right: and(depth) };
    }
    return left;
  };
  const and = (depth: number): Constraint => {
    let left = unary(depth);
    while (peek()?.t === 'op' && peek()?.v === '&&') {
      pos++;
      left = { kind: 'and', left, right: unary(depth) };
    }
    return left;
  };
  const unary = (depth: number): Constraint => {
    if (depth > MAX_DEPTH) fail('nested too deeply');
    const tok = peek();
    if (tok?.t === 'op' && tok.v === '!') {
      pos++;
      return { kind: 'not', inner: unary(depth + 1) };
    }
    if (tok?.t === 'op' && tok.v === '(') {
      pos++;
      const inner = or(depth + 1);
      expectOp(')');
      return inner;
    }
    if (tok?.t !== 'ident') return fail(`expected Label(...) or LabelRegex(...) ${where(tok)}`);
    pos++;
    expectOp('(');
    const args: string[] = [];
    for (;;) {
      const arg = tokens[pos];
      if (arg?.t !== 'str') return fail(`${tok.v}: expected a quoted argument ${where(arg)}`);
      args.push(arg.v);
      pos++;
      if (peek()?.t === 'op' && peek()?.v === ',') {
        pos++;
        continue;
      }
      break;
    }
    expectOp(')');
    if (args.length !== 2) fail(`${tok.v} takes 2 arguments, got ${args.length}`);
    const [key, value] = args as [string, string];
    if (tok.v === 'Label') return { kind: 'label', key, value };
    if (tok.v === 'LabelRegex') {
      const re = compileGoRegexp(value);
      if (!re.ok) return fail(`LabelRegex: ${JSON.stringify(value)}: ${re.message}`);
      return { kind: 'labelRegex', key, regexp: re.regexp };
    }
    return fail(`unknown matcher ${tok.v} (Label and LabelRegex are known)`);
  };
  try {
    const match = or(0);
    if (pos < tokens.length) fail(`unexpected '${tokens[pos]?.v}'`);
    return { ok: true, match };
  } catch (e) {
    if (e instanceof ConstraintSyntax) return { ok: false, message: e.message };
    throw e;
  }
}

class ConstraintSyntax extends Error {}

function tokenize(text: string): Token[] | string {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '&' || c === '|') {
      if (text[i + 1] !== c) return `expected '${c}${c}' at ${i}`;
      tokens.push({ t: 'op', v: c + c });
      i += 2;
    } else if ('!(),'.includes(c)) {
      tokens.push({ t: 'op', v: c });
      i++;
    } else if (c === '`' || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) return `unterminated string at ${i}`;
      tokens.push({ t: 'str', v: text.slice(i + 1, end) });
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      const m = /^[A-Za-z][A-Za-z0-9]*/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ t: 'ident', v: m[0] });
      i += m[0].length;
    } else {
      return `unexpected character '${c}' at ${i}`;
    }
  }
  return tokens;
}

export function matchConstraints(c: Constraint | null, labels: Readonly<Record<string, string>>): boolean {
  if (c === null) return true;
  switch (c.kind) {
    case 'label':
      return Object.hasOwn(labels, c.key) && labels[c.key] === c.value;
    case 'labelRegex':
      return Object.hasOwn(labels, c.key) && c.regexp.test(labels[c.key] ?? '');
    case 'not':
      return !matchConstraints(c.inner, labels);
    case 'and':
      return matchConstraints(c.left, labels) && matchConstraints(c.right, labels);
    case 'or':
      return matchConstraints(c.left, labels) || matchConstraints(c.right, labels);
  }
}
