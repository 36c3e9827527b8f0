// Go text/template, the subset Traefik's file provider users write: actions, pipelines, variables,
// if/else/range/with/end, trim markers and comments; functions come from go-template-functions.ts.
// Anything else is refused with the construct and its line, never rendered approximately.
import {
  FUNCTIONS,
  type Func,
  isEmpty,
  printValue,
  TemplateFailure,
  type Value,
} from './go-template-functions.js';

/** Why a template was refused: `unsupported` for Go constructs beyond the subset, `error` otherwise. */
export interface TemplateProblem {
  kind: 'unsupported' | 'error';
  /** 1-based line of the template text the problem is on. */
  line: number;
  message: string;
}

export type RenderResult =
  | {
      ok: true;
      text: string;
      /** For each 1-based line of `text`, the template line it came from (index 0 is line 1). */
      lines: readonly number[];
    }
  | { ok: false; problem: TemplateProblem };

/**
 * Renders `template` with `data` as dot (Traefik's file provider passes `false`) and `funcs` added
 * to (or replacing) the built-in functions. Pure: `env` reaches the template only through `funcs`.
 */
export function renderTemplate(
  template: string,
  data: Value,
  funcs: Readonly<Record<string, Func>> = {},
): RenderResult {
  const table = { ...FUNCTIONS, ...funcs };
  try {
    const parser = new Parser(template, table);
    const tree = parser.parse();
    const out = new Output(template, (offset) => parser.lineAt(offset));
    new Executor(out, table).run(tree, data);
    return { ok: true, text: out.joined(), lines: out.lines };
  } catch (err) {
    if (err instanceof TemplateFailure) {
      const line = err.line ?? 1;
      return {
        ok: false,
        problem: { kind: err.unsupported ? 'unsupported' : 'error', line, message: err.message },
      };
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Lexing and parsing

type Token =
  | { t: 'string'; v: string }
  | { t: 'number'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'nil' }
  | { t: 'ident'; v: string }
  /** `.`, `.Field.Sub`: the field names after the dot (empty for dot itself). */
  | { t: 'field'; v: string[] }
  /** `$`, `$x`, `$x.Field`. */
  | { t: 'var'; v: string; fields: string[] }
  | { t: 'declare' }
  | { t: 'assign' }
  | { t: 'pipe' }
  | { t: 'comma' }
  | { t: 'open' }
  /** `)` and the fields chained on it, `(x).Field`. */
  | { t: 'close'; fields: string[] };

type Arg =
  | { a: 'const'; v: Value }
  | { a: 'field'; fields: string[] }
  | { a: 'var'; name: string; fields: string[] }
  | { a: 'func'; name: string }
  | { a: 'pipe'; pipe: Pipeline; fields: string[] };

interface Command {
  args: Arg[];
}

interface Pipeline {
  line: number;
  /** `$x :=` (declare) or `$x =` (assign); range takes two names. */
  vars: string[];
  decl: 'declare' | 'assign' | null;
  cmds: Command[];
}

type Node =
  | { n: 'text'; start: number; end: number }
  | { n: 'action'; pipe: Pipeline }
  | { n: 'if'; pipe: Pipeline; yes: Node[]; no: Node[] }
  | { n: 'with'; pipe: Pipeline; yes: Node[]; no: Node[] }
  | { n: 'range'; pipe: Pipeline; body: Node[]; else: Node[] }
  | { n: 'break' | 'continue'; line: number };

/** Go constructs a template may use that Berth does not render. */
const UNSUPPORTED_KEYWORDS = new Set(['define', 'template', 'block']);

class Parser {
  #src: string;
  #funcs: Readonly<Record<string, Func>>;
  #pos = 0;
  /** Set when the previous action ended with ` -}}`: the next text loses its leading spaces. */
  #trimNext = false;
  /** Offset → line, through line starts. */
  #lineStarts: number[];
  #rangeDepth = 0;

  constructor(src: string, funcs: Readonly<Record<string, Func>>) {
    this.#src = src;
    this.#funcs = funcs;
    this.#lineStarts = [0];
    for (let i = src.indexOf('\n'); i >= 0; i = src.indexOf('\n', i + 1)) this.#lineStarts.push(i + 1);
  }

  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.#lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#lineStarts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  parse(): Node[] {
    const { nodes, end } = this.#list();
    if (end !== null) throw fail(end.line, `unexpected {{${end.word}}}`);
    return nodes;
  }

  /** Nodes up to an `end`/`else` action (returned) or the end of the text (null). */
  #list(): { nodes: Node[]; end: { word: 'end' | 'else'; line: number; rest: Token[] } | null } {
    const nodes: Node[] = [];
    for (;;) {
      const open = this.#src.indexOf('{{', this.#pos);
      const textEnd = open < 0 ? this.#src.length : open;
      let start = this.#pos;
      if (this.#trimNext) {
        while (start < textEnd && isSpace(this.#src.charCodeAt(start))) start++;
        this.#trimNext = false;
      }
      let end = textEnd;
      const trimBefore = open >= 0 && this.#src[open + 2] === '-' && isSpace(this.#src.charCodeAt(open + 3));
      if (trimBefore) while (end > start && isSpace(this.#src.charCodeAt(end - 1))) end--;
      if (end > start) nodes.push({ n: 'text', start, end });
      if (open < 0) {
        this.#pos = this.#src.length;
        return { nodes, end: null };
      }
      const line = this.lineAt(open);
      const tokens = this.#action(open + (trimBefore ? 4 : 2), line);
      if (tokens === null) continue; // a comment
      const first = tokens[0];
      if (first === undefined) throw fail(line, 'missing value for command');
      if (first.t === 'ident' && (first.v === 'end' || first.v === 'else')) {
        return { nodes, end: { word: first.v, line, rest: tokens.slice(1) } };
      }
      if (first.t === 'ident' && UNSUPPORTED_KEYWORDS.has(first.v))
        throw unsupported(line, `{{ ${first.v} }} (named templates) is not supported`);
      if (first.t === 'ident' && (first.v === 'break' || first.v === 'continue')) {
        if (this.#rangeDepth === 0) throw fail(line, `{{${first.v}}} outside {{range}}`);
        nodes.push({ n: first.v, line });
        continue;
      }
      if (first.t === 'ident' && (first.v === 'if' || first.v === 'with' || first.v === 'range')) {
        nodes.push(this.#control(first.v, tokens.slice(1), line));
        continue;
      }
      nodes.push({ n: 'action', pipe: this.#pipeline(tokens, line, false) });
    }
  }

  #control(word: 'if' | 'with' | 'range', rest: Token[], line: number): Node {
    const pipe = this.#pipeline(rest, line, word === 'range');
    if (pipe.cmds.length === 0) throw fail(line, `missing value for ${word}`);
    if (word === 'range') this.#rangeDepth++;
    const body = this.#list();
    if (word === 'range') this.#rangeDepth--;
    if (body.end === null) throw fail(line, `{{${word}}} without {{end}}`);
    let elseNodes: Node[] = [];
    if (body.end.word === 'else') {
      const after = body.end.rest;
      const chained = after[0];
      if (chained?.t === 'ident' && (chained.v === 'if' || chained.v === 'with')) {
        // `{{else if x}}` is `{{else}}{{if x}}…{{end}}` sharing the outer `{{end}}`.
        if (word === 'range' || chained.v !== word)
          throw unsupported(body.end.line, `{{else ${chained.v}}} after {{${word}}} is not supported`);
        elseNodes = [this.#control(chained.v, after.slice(1), body.end.line)];
        return word === 'if'
          ? { n: 'if', pipe, yes: body.nodes, no: elseNodes }
          : { n: 'with', pipe, yes: body.nodes, no: elseNodes };
      }
      if (after.length > 0) throw fail(body.end.line, 'unexpected tokens after else');
      const tail = this.#list();
      if (tail.end === null || tail.end.word !== 'end') throw fail(line, `{{${word}}} without {{end}}`);
      elseNodes = tail.nodes;
    } else if (body.end.rest.length > 0) throw fail(body.end.line, 'unexpected tokens after end');
    if (word === 'range') return { n: 'range', pipe, body: body.nodes, else: elseNodes };
    return { n: word, pipe, yes: body.nodes, no: elseNodes };
  }

  /** Tokens of the action starting at `from` (after `{{` or `{{- `), or null for a comment. */
  #action(from: number, line: number): Token[] | null {
    const src = this.#src;
    let i = from;
    while (i < src.length && isSpace(src.charCodeAt(i))) i++;
    if (src.startsWith('/*', i)) {
      const close = src.indexOf('*/', i + 2);
      if (close < 0) throw fail(line, 'unclosed comment');
      this.#finish(close + 2, line, true);
      return null;
    }
    const tokens: Token[] = [];
    for (;;) {
      while (i < src.length && isSpace(src.charCodeAt(i))) i++;
      if (i >= src.length) throw fail(line, 'unclosed action');
      if (src.startsWith('}}', i)) {
        this.#finish(i, line, false);
        return tokens;
      }
      if (src.startsWith('-}}', i) && isSpace(src.charCodeAt(i - 1))) {
        this.#finish(i, line, false);
        return tokens;
      }
      const c = src[i] as string;
      if (c === '"') {
        const { value, next } = goString(src, i, line);
        tokens.push({ t: 'string', v: value });
        i = next;
      } else if (c === '`') {
        const close = src.indexOf('`', i + 1);
        if (close < 0) throw fail(line, 'unterminated raw string');
        tokens.push({ t: 'string', v: src.slice(i + 1, close) });
        i = close + 1;
      } else if (c === "'") {
        throw unsupported(line, 'character constants are not supported');
      } else if (c === '|') {
        tokens.push({ t: 'pipe' });
        i++;
      } else if (c === ',') {
        tokens.push({ t: 'comma' });
        i++;
      } else if (c === '(') {
        tokens.push({ t: 'open' });
        i++;
      } else if (c === ')') {
        i++;
        const { fields, next } = fieldChain(src, i);
        tokens.push({ t: 'close', fields });
        i = next;
      } else if (src.startsWith(':=', i)) {
        tokens.push({ t: 'declare' });
        i += 2;
      } else if (c === '=') {
        tokens.push({ t: 'assign' });
        i++;
      } else if (c === '$') {
        const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i, i + 256)) as RegExpExecArray;
        i += m[0].length;
        const { fields, next } = fieldChain(src, i);
        tokens.push({ t: 'var', v: m[0], fields });
        i = next;
      } else if (c === '.') {
        const { fields, next } = fieldChain(src, i);
        tokens.push({ t: 'field', v: fields });
        i = next === i ? i + 1 : next;
      } else if (/[0-9+-]/.test(c)) {
        const m =
          /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9][0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9]+)?|\.[0-9]+)/.exec(
            src.slice(i, i + 64),
          );
        if (m === null) throw fail(line, `bad number syntax near ${JSON.stringify(src.slice(i, i + 8))}`);
        const text = m[0].replace(/_/g, '');
        const value = /^[+-]?0[bBoO]/.test(text)
          ? (text.startsWith('-') ? -1 : 1) * Number(text.replace(/^[+-]/, ''))
          : Number(text);
        if (Number.isNaN(value)) throw fail(line, `bad number syntax: ${m[0]}`);
        tokens.push({ t: 'number', v: value });
        i += m[0].length;
      } else if (/[A-Za-z_]/.test(c)) {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i, i + 256)) as RegExpExecArray;
        const word = m[0];
        i += word.length;
        if (word === 'true' || word === 'false') tokens.push({ t: 'bool', v: word === 'true' });
        else if (word === 'nil') tokens.push({ t: 'nil' });
        else tokens.push({ t: 'ident', v: word });
      } else {
        throw fail(line, `unexpected ${JSON.stringify(c)} in action`);
      }
    }
  }

  /** Past the action's `}}` at `at` (or `-}}`), noting a trim; `comment`: only a close may follow. */
  #finish(at: number, line: number, comment: boolean): void {
    const src = this.#src;
    let i = at;
    if (comment) {
      while (i < src.length && isSpace(src.charCodeAt(i))) i++;
    }
    // ` -}}` closes with a trim (the space is required, as `-}}` alone could end a number).
    if (src.startsWith('-}}', i) && (!comment || i > at)) {
      this.#trimNext = true;
      this.#pos = i + 3;
      return;
    }
    if (src.startsWith('}}', i)) {
      this.#pos = i + 2;
      return;
    }
    throw fail(line, comment ? 'comment ends before closing delimiter' : 'unclosed action');
  }

  #pipeline(tokens: Token[], line: number, isRange: boolean): Pipeline {
    let toks = tokens;
    const vars: string[] = [];
    let decl: Pipeline['decl'] = null;
    // `$x :=`, `$x =`, and for range `$i, $v :=`.
    const a = toks[0];
    const b = toks[1];
    if (a?.t === 'var' && a.fields.length === 0) {
      if (b?.t === 'declare' || b?.t === 'assign') {
        vars.push(a.v);
        decl = b.t === 'declare' ? 'declare' : 'assign';
        toks = toks.slice(2);
      } else if (isRange && b?.t === 'comma') {
        const c = toks[2];
        const d = toks[3];
        if (c?.t !== 'var' || c.fields.length > 0 || (d?.t !== 'declare' && d?.t !== 'assign'))
          throw fail(line, 'range can only initialize variables as $i, $v :=');
        vars.push(a.v, c.v);
        decl = d.t === 'declare' ? 'declare' : 'assign';
        toks = toks.slice(4);
      }
    }
    const cmds = this.#commands(toks, line);
    if (decl !== null && cmds.length === 0) throw fail(line, 'missing value for declaration');
    return { line, vars, decl, cmds };
  }

  #commands(tokens: Token[], line: number): Command[] {
    const cmds: Command[] = [];
    let args: Arg[] = [];
    let i = 0;
    while (i < tokens.length) {
      const tok = tokens[i] as Token;
      if (tok.t === 'pipe') {
        if (args.length === 0) throw fail(line, 'missing command before |');
        cmds.push({ args });
        args = [];
        i++;
        continue;
      }
      if (tok.t === 'open') {
        // The matching `)`.
        let depth = 1;
        let j = i + 1;
        for (; j < tokens.length; j++) {
          const x = tokens[j] as Token;
          if (x.t === 'open') depth++;
          else if (x.t === 'close' && --depth === 0) break;
        }
        const close = tokens[j];
        if (close?.t !== 'close') throw fail(line, 'unclosed left paren');
        const inner = this.#pipeline(tokens.slice(i + 1, j), line, false);
        if (inner.cmds.length === 0) throw fail(line, 'missing value in parentheses');
        args.push({ a: 'pipe', pipe: inner, fields: close.fields });
        i = j + 1;
        continue;
      }
      args.push(this.#arg(tok, line, args.length === 0));
      i++;
    }
    if (args.length > 0) cmds.push({ args });
    else if (cmds.length > 0) throw fail(line, 'missing command after |');
    return cmds;
  }

  #arg(tok: Token, line: number, first: boolean): Arg {
    switch (tok.t) {
      case 'string':
      case 'number':
      case 'bool':
        return { a: 'const', v: tok.v };
      case 'nil':
        return { a: 'const', v: null };
      case 'field':
        return { a: 'field', fields: tok.v };
      case 'var':
        return { a: 'var', name: tok.v, fields: tok.fields };
      case 'ident': {
        if (['if', 'else', 'end', 'range', 'with', 'break', 'continue'].includes(tok.v))
          throw fail(line, `unexpected keyword ${tok.v}`);
        if (UNSUPPORTED_KEYWORDS.has(tok.v))
          throw unsupported(line, `{{ ${tok.v} }} (named templates) is not supported`);
        if (!Object.hasOwn(this.#funcs, tok.v))
          throw unsupported(line, `function "${tok.v}" is not supported by Berth's template subset`);
        if (!first && tok.v === 'call') throw unsupported(line, 'function "call" is not supported');
        return { a: 'func', name: tok.v };
      }
      default:
        throw fail(line, `unexpected ${describe(tok)} in command`);
    }
  }
}

function describe(tok: Token): string {
  switch (tok.t) {
    case 'declare':
      return '":="';
    case 'assign':
      return '"="';
    case 'comma':
      return '","';
    case 'close':
      return '")"';
    default:
      return tok.t;
  }
}

/** `.A.B` at `i`: the names, and where they end. */
function fieldChain(src: string, at: number): { fields: string[]; next: number } {
  const fields: string[] = [];
  let i = at;
  for (;;) {
    const m = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(src.slice(i, i + 256));
    if (m === null) break;
    fields.push(m[1] as string);
    i += m[0].length;
  }
  return { fields, next: i };
}

/** A Go interpreted string literal at `at` (its opening quote). */
function goString(src: string, at: number, line: number): { value: string; next: number } {
  let out = '';
  let i = at + 1;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === '"') return { value: out, next: i + 1 };
    if (c === '\n') break;
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = src[i + 1];
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      '\\': '\\',
      '"': '"',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
    };
    if (e !== undefined && Object.hasOwn(simple, e)) {
      out += simple[e];
      i += 2;
      continue;
    }
    const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    const digits = src.slice(i + 2, i + 2 + hex);
    if (hex > 0 && /^[0-9a-fA-F]+$/.test(digits) && digits.length === hex) {
      out += String.fromCodePoint(Number.parseInt(digits, 16));
      i += 2 + hex;
      continue;
    }
    throw fail(line, `unknown escape sequence \\${e ?? ''} in string`);
  }
  throw fail(line, 'unterminated quoted string');
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function fail(line: number, message: string): TemplateFailure {
  return new TemplateFailure(message, { line });
}

function unsupported(line: number, message: string): TemplateFailure {
  return new TemplateFailure(message, { line, unsupported: true });
}

// ---------------------------------------------------------------------------------------------
// Output with its line map

class Output {
  #src: string;
  #lineAt: (offset: number) => number;
  #parts: string[] = [];
  /** Template line of each output line started so far. */
  readonly lines: number[] = [];
  #atLineStart = true;

  constructor(src: string, lineAt: (offset: number) => number) {
    this.#src = src;
    this.#lineAt = lineAt;
  }

  /** Everything written so far. */
  joined(): string {
    return this.#parts.join('');
  }

  /** Template text `[start, end)`: its lines map one to one. */
  text(start: number, end: number): void {
    const chunk = this.#src.slice(start, end);
    this.#parts.push(chunk);
    let line = this.#lineAt(start);
    let from = 0;
    for (;;) {
      if (this.#atLineStart && from < chunk.length) {
        this.lines.push(line);
        this.#atLineStart = false;
      }
      const nl = chunk.indexOf('\n', from);
      if (nl < 0) break;
      line++;
      this.#atLineStart = true;
      from = nl + 1;
    }
  }

  /** What an action printed: every output line it starts maps to the action's line. */
  value(printed: string, line: number): void {
    if (printed === '') return;
    this.#parts.push(printed);
    let from = 0;
    for (;;) {
      if (this.#atLineStart && from < printed.length) {
        this.lines.push(line);
        this.#atLineStart = false;
      }
      const nl = printed.indexOf('\n', from);
      if (nl < 0) break;
      this.#atLineStart = true;
      from = nl + 1;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Execution

class BreakSignal {}
class ContinueSignal {}

/** Range over at most this many items overall: a template is configuration, not a program. */
const MAX_ITERATIONS = 100_000;
const MAX_OUTPUT = 16 * 1024 * 1024;

class Executor {
  #out: Output;
  #funcs: Readonly<Record<string, Func>>;
  #vars: { name: string; value: Value }[] = [];
  #iterations = 0;
  #size = 0;

  constructor(out: Output, funcs: Readonly<Record<string, Func>>) {
    this.#out = out;
    this.#funcs = funcs;
  }

  run(nodes: Node[], data: Value): void {
    this.#vars.push({ name: '$', value: data });
    this.#walk(nodes, data);
  }

  #walk(nodes: readonly Node[], dot: Value): void {
    for (const node of nodes) {
      switch (node.n) {
        case 'text':
          this.#grow(node.end - node.start);
          this.#out.text(node.start, node.end);
          break;
        case 'action': {
          const value = this.#pipe(node.pipe, dot);
          // An assignment prints nothing.
          if (node.pipe.decl === null) {
            const printed = printValue(value);
            this.#grow(printed.length);
            this.#out.value(printed, node.pipe.line);
          }
          break;
        }
        case 'if':
        case 'with': {
          const mark = this.#vars.length;
          const value = this.#pipe(node.pipe, dot);
          const truth = !isEmpty(value);
          this.#walk(truth ? node.yes : node.no, truth && node.n === 'with' ? value : dot);
          this.#vars.length = mark;
          break;
        }
        case 'range':
          this.#range(node, dot);
          break;
        case 'break':
          throw new BreakSignal();
        case 'continue':
          throw new ContinueSignal();
      }
    }
  }

  #range(node: Extract<Node, { n: 'range' }>, dot: Value): void {
    const mark = this.#vars.length;
    const { vars, decl, line } = node.pipe;
    const value = this.#pipe({ ...node.pipe, vars: [], decl: null }, dot);
    let items: [Value, Value][];
    if (Array.isArray(value)) items = value.map((v, i) => [i, v]);
    else if (value instanceof Map)
      items = [...value.entries()].sort(([a], [b]) =>
        String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0,
      );
    else if (typeof value === 'number' && Number.isInteger(value))
      items = Array.from({ length: Math.max(0, value) }, (_, i) => [i, i]);
    else if (value === null) items = [];
    else throw fail(line, `range can't iterate over ${printValue(value)}`);
    if (items.length === 0) {
      this.#walk(node.else, dot);
      this.#vars.length = mark;
      return;
    }
    for (const [key, item] of items) {
      if (++this.#iterations > MAX_ITERATIONS)
        throw fail(line, `more than ${MAX_ITERATIONS} range iterations`);
      const inner = this.#vars.length;
      if (vars.length === 1) this.#set(vars[0] as string, item, decl, line);
      else if (vars.length === 2) {
        this.#set(vars[0] as string, key, decl, line);
        this.#set(vars[1] as string, item, decl, line);
      }
      try {
        this.#walk(node.body, item);
      } catch (signal) {
        if (signal instanceof BreakSignal) break;
        if (!(signal instanceof ContinueSignal)) throw signal;
      } finally {
        // Variables of one iteration (the range's own and any declared inside) end with it.
        this.#vars.length = inner;
      }
    }
    this.#vars.length = mark;
  }

  #set(name: string, value: Value, decl: Pipeline['decl'], line: number): void {
    if (decl === 'declare') {
      this.#vars.push({ name, value });
      return;
    }
    for (let i = this.#vars.length - 1; i >= 0; i--) {
      const v = this.#vars[i] as { name: string; value: Value };
      if (v.name === name) {
        v.value = value;
        return;
      }
    }
    throw fail(line, `undefined variable: ${name}`);
  }

  #pipe(pipe: Pipeline, dot: Value): Value {
    let value: Value | undefined;
    for (const cmd of pipe.cmds) value = this.#command(cmd, dot, value, pipe.line);
    const result = value === undefined ? null : value;
    if (pipe.decl !== null) this.#set(pipe.vars[0] as string, result, pipe.decl, pipe.line);
    return result;
  }

  #command(cmd: Command, dot: Value, piped: Value | undefined, line: number): Value {
    const [head, ...rest] = cmd.args as [Arg, ...Arg[]];
    if (head.a === 'func') {
      const args = rest.map((a) => this.#arg(a, dot, line));
      if (piped !== undefined) args.push(piped);
      const fn = this.#funcs[head.name] as Func;
      try {
        return fn(args);
      } catch (err) {
        if (err instanceof TemplateFailure)
          throw new TemplateFailure(`${head.name}: ${err.message}`, { line, unsupported: err.unsupported });
        throw err;
      }
    }
    if (rest.length > 0 || piped !== undefined)
      throw fail(line, `can't give argument to non-function ${argText(head)}`);
    return this.#arg(head, dot, line);
  }

  #arg(arg: Arg, dot: Value, line: number): Value {
    switch (arg.a) {
      case 'const':
        return arg.v;
      case 'field':
        return fields(dot, arg.fields, line);
      case 'var': {
        const found = this.#lookup(arg.name, line);
        return fields(found, arg.fields, line);
      }
      case 'func': {
        const fn = this.#funcs[arg.name] as Func;
        try {
          return fn([]);
        } catch (err) {
          if (err instanceof TemplateFailure)
            throw new TemplateFailure(`${arg.name}: ${err.message}`, { line });
          throw err;
        }
      }
      case 'pipe':
        return fields(this.#pipe(arg.pipe, dot), arg.fields, line);
    }
  }

  #lookup(name: string, line: number): Value {
    for (let i = this.#vars.length - 1; i >= 0; i--) {
      const v = this.#vars[i] as { name: string; value: Value };
      if (v.name === name) return v.value;
    }
    throw fail(line, `undefined variable: ${name}`);
  }

  #grow(n: number): void {
    this.#size += n;
    if (this.#size > MAX_OUTPUT) throw new TemplateFailure(`output larger than ${MAX_OUTPUT} bytes`, {});
  }
}

function argText(arg: Arg): string {
  switch (arg.a) {
    case 'const':
      return printValue(arg.v);
    case 'field':
      return `.${arg.fields.join('.')}`;
    case 'var':
      return [arg.name, ...arg.fields].join('.');
    default:
      return '(...)';
  }
}

/** `.A.B` of a map (a missing key is nil, printed `<no value>`, as Go does for maps). */
function fields(value: Value, names: readonly string[], line: number): Value {
  let v = value;
  for (const name of names) {
    if (v instanceof Map) v = v.has(name) ? (v.get(name) as Value) : null;
    else throw fail(line, `can't evaluate field ${name} in ${typeName(v)}`);
  }
  return v;
}

function typeName(v: Value): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return 'a list';
  return `type ${typeof v === 'number' ? 'int' : typeof v === 'boolean' ? 'bool' : 'string'}`;
}
