// The functions Berth's Go templates offer: Go's built-ins and the common sprig ones, with Go's and
// sprig's semantics (argument order, empty values, %q quoting); Traefik's `normalize` and `split`.
import { normalize } from '../docker/labels/default-rule.js';

/** A template value: Go's strings, numbers, bools, nil, slices and maps (string keys). */
export type Value = string | number | boolean | null | Value[] | Map<string, Value>;

export type Func = (args: Value[]) => Value;

/** A refused template; `line` is set where the failing action is known. */
export class TemplateFailure extends Error {
  readonly line: number | undefined;
  readonly unsupported: boolean;
  constructor(message: string, at: { line?: number; unsupported?: boolean | undefined }) {
    super(message);
    this.line = at.line;
    this.unsupported = at.unsupported === true;
  }
}

function fail(message: string): TemplateFailure {
  return new TemplateFailure(message, {});
}

/** Go's zero values and empty collections, which `if`, `default` and `empty` treat as false. */
export function isEmpty(v: Value): boolean {
  if (v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (v instanceof Map) return v.size === 0;
  return false;
}

/** As Go's fmt `%v` prints it; nil is `<no value>` as text/template prints a missing value. */
export function printValue(v: Value): string {
  if (v === null) return '<no value>';
  return fmtV(v);
}

function fmtV(v: Value): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(fmtV).join(' ')}]`;
  return `map[${[...v.keys()]
    .sort()
    .map((k) => `${k}:${fmtV(v.get(k) as Value)}`)
    .join(' ')}]`;
}

function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  // Go's %v of a float64 is strconv 'g' with the shortest precision: 1e+21, 1.5.
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** sprig's strval: strings as is, anything else through %v. */
function str(v: Value | undefined): string {
  if (v === undefined || v === null) return '';
  return fmtV(v);
}

/** sprig's toInt64: numbers truncated, numeric strings parsed, anything else 0. */
function int(v: Value | undefined): number {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const n = Number(v.trim());
    return Number.isFinite(n) ? Math.trunc(n) : 0;
  }
  return 0;
}

function arity(name: string, args: Value[], n: number): void {
  if (args.length !== n) throw fail(`wrong number of args for ${name}: want ${n} got ${args.length}`);
}

function list(v: Value | undefined, name: string): Value[] {
  if (Array.isArray(v)) return v;
  if (v === null || v === undefined) return [];
  throw fail(`${name} needs a list, got ${fmtV(v)}`);
}

/** Go's %q: double-quoted with Go escapes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's `eq` family compares basic values of one kind. */
function basic(v: Value, fn: string): string | number | boolean | null {
  if (Array.isArray(v) || v instanceof Map) throw fail(`${fn}: invalid type for comparison`);
  return v;
}

function compare(args: Value[], fn: string): number {
  arity(fn, args, 2);
  const a = basic(args[0] as Value, fn);
  const b = basic(args[1] as Value, fn);
  if (typeof a !== typeof b || a === null || typeof a === 'boolean')
    throw fail(`${fn}: incompatible types for comparison`);
  return a < (b as typeof a) ? -1 : a > (b as typeof a) ? 1 : 0;
}

/** Go's fmt.Sprintf for the verbs configuration needs: %s %d %v %q %t %x %%; others are refused. */
function sprintf(format: string, args: Value[]): string {
  let i = 0;
  return format.replace(/%([-+# 0]*\d*)([a-zA-Z%])/g, (whole, flags: string, verb: string) => {
    if (verb === '%') return '%';
    if (flags !== '')
      throw new TemplateFailure(`printf: flags and widths (${whole}) are not supported`, {
        unsupported: true,
      });
    const v = args[i++];
    if (v === undefined) return `%!${verb}(MISSING)`;
    switch (verb) {
      case 's':
      case 'v':
        return fmtV(v);
      case 'd':
        return typeof v === 'number' ? String(Math.trunc(v)) : `%!d(${fmtV(v)})`;
      case 'q':
        return goQuote(fmtV(v));
      case 't':
        return typeof v === 'boolean' ? String(v) : `%!t(${fmtV(v)})`;
      case 'x':
        return typeof v === 'number' ? Math.trunc(v).toString(16) : Buffer.from(fmtV(v)).toString('hex');
      default:
        throw new TemplateFailure(`printf: the %${verb} verb is not supported`, { unsupported: true });
    }
  });
}

function get(collection: Value, key: Value): Value {
  if (Array.isArray(collection)) {
    if (typeof key !== 'number' || !Number.isInteger(key))
      throw fail('cannot index slice with a non-integer');
    if (key < 0 || key >= collection.length) throw fail(`index out of range: ${key}`);
    return collection[key] as Value;
  }
  if (collection instanceof Map) return collection.get(str(key)) ?? null;
  if (collection === null) throw fail('index of untyped nil');
  throw fail(`can't index item of type ${typeof collection}`);
}

function indent(n: number, s: string): string {
  const pad = ' '.repeat(Math.max(0, n));
  return pad + s.replaceAll('\n', `\n${pad}`);
}

/** Traefik's own (`normalize`, `split`), Go's built-ins and the sprig functions Berth implements. */
export const FUNCTIONS: Readonly<Record<string, Func>> = {
  // Go text/template built-ins.
  and: (a) => {
    if (a.length === 0) throw fail('wrong number of args for and: want at least 1 got 0');
    for (const v of a) if (isEmpty(v)) return v;
    return a[a.length - 1] as Value;
  },
  or: (a) => {
    if (a.length === 0) throw fail('wrong number of args for or: want at least 1 got 0');
    for (const v of a) if (!isEmpty(v)) return v;
    return a[a.length - 1] as Value;
  },
  not: (a) => {
    arity('not', a, 1);
    return isEmpty(a[0] as Value);
  },
  len: (a) => {
    arity('len', a, 1);
    const v = a[0] as Value;
    if (typeof v === 'string') return Buffer.byteLength(v);
    if (Array.isArray(v)) return v.length;
    if (v instanceof Map) return v.size;
    throw fail(`len of ${fmtV(v)}`);
  },
  index: (a) => {
    if (a.length === 0) throw fail('wrong number of args for index');
    let v = a[0] as Value;
    for (const key of a.slice(1)) v = get(v, key);
    return v;
  },
  print: (a) =>
    // Go's Sprint: a space only between operands when neither is a string.
    a.reduce<string>(
      (out, v, i) =>
        out + (i > 0 && typeof v !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + fmtV(v),
      '',
    ),
  println: (a) => `${a.map(fmtV).join(' ')}\n`,
  printf: (a) => {
    if (a.length === 0) throw fail('wrong number of args for printf');
    return sprintf(str(a[0]), a.slice(1));
  },
  eq: (a) => {
    if (a.length < 2) throw fail('missing argument for comparison');
    const first = basic(a[0] as Value, 'eq');
    return a.slice(1).some((v) => basic(v, 'eq') === first);
  },
  ne: (a) => {
    arity('ne', a, 2);
    return basic(a[0] as Value, 'ne') !== basic(a[1] as Value, 'ne');
  },
  lt: (a) => compare(a, 'lt') < 0,
  le: (a) => compare(a, 'le') <= 0,
  gt: (a) => compare(a, 'gt') > 0,
  ge: (a) => compare(a, 'ge') >= 0,
  urlquery: (a) => encodeURIComponent(a.map(fmtV).join('')).replace(/%20/g, '+'),

  // Traefik's additions (pkg/provider/file: `normalize`, and `split` is strings.Split).
  normalize: (a) => {
    arity('normalize', a, 1);
    return normalize(str(a[0]));
  },
  split: (a) => {
    arity('split', a, 2);
    return str(a[0]).split(str(a[1]));
  },

  // sprig: environment.
  env: (a) => {
    arity('env', a, 1);
    // Replaced by the caller with the process environment; this one sees none.
    return '';
  },
  // sprig: defaults and flow.
  default: (a) => {
    if (a.length === 0) throw fail('wrong number of args for default');
    const given = a.length > 1 ? (a[1] as Value) : null;
    return isEmpty(given) ? (a[0] as Value) : given;
  },
  empty: (a) => {
    arity('empty', a, 1);
    return isEmpty(a[0] as Value);
  },
  coalesce: (a) => a.find((v) => !isEmpty(v)) ?? null,
  ternary: (a) => {
    arity('ternary', a, 3);
    return a[2] === true ? (a[0] as Value) : (a[1] as Value);
  },
  fail: (a) => {
    throw fail(str(a[0]));
  },
  // sprig: strings.
  quote: (a) =>
    a
      .filter((v) => v !== null)
      .map((v) => goQuote(str(v)))
      .join(' '),
  squote: (a) =>
    a
      .filter((v) => v !== null)
      .map((v) => `'${str(v)}'`)
      .join(' '),
  upper: (a) => str(a[0]).toUpperCase(),
  lower: (a) => str(a[0]).toLowerCase(),
  title: (a) =>
    str(a[0]).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_, pre: string, c: string) => pre + c.toUpperCase()),
  trim: (a) => str(a[0]).trim(),
  trimAll: (a) => {
    arity('trimAll', a, 2);
    const cut = new Set(str(a[0]));
    const chars = [...str(a[1])];
    let s = 0;
    let e = chars.length;
    while (s < e && cut.has(chars[s] as string)) s++;
    while (e > s && cut.has(chars[e - 1] as string)) e--;
    return chars.slice(s, e).join('');
  },
  trimPrefix: (a) => {
    arity('trimPrefix', a, 2);
    const [p, s] = [str(a[0]), str(a[1])];
    return s.startsWith(p) ? s.slice(p.length) : s;
  },
  trimSuffix: (a) => {
    arity('trimSuffix', a, 2);
    const [p, s] = [str(a[0]), str(a[1])];
    return p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
  },
  replace: (a) => {
    arity('replace', a, 3);
    return str(a[2]).split(str(a[0])).join(str(a[1]));
  },
  contains: (a) => {
    arity('contains', a, 2);
    return str(a[1]).includes(str(a[0]));
  },
  hasPrefix: (a) => {
    arity('hasPrefix', a, 2);
    return str(a[1]).startsWith(str(a[0]));
  },
  hasSuffix: (a) => {
    arity('hasSuffix', a, 2);
    return str(a[1]).endsWith(str(a[0]));
  },
  repeat: (a) => {
    arity('repeat', a, 2);
    return str(a[1]).repeat(Math.max(0, Math.min(int(a[0]), 100_000)));
  },
  nospace: (a) => str(a[0]).replace(/\s+/g, ''),
  trunc: (a) => {
    arity('trunc', a, 2);
    const n = int(a[0]);
    const s = str(a[1]);
    return n >= 0 ? s.slice(0, n) : s.slice(Math.max(0, s.length + n));
  },
  cat: (a) =>
    a
      .filter((v) => v !== null)
      .map(str)
      .join(' '),
  indent: (a) => {
    arity('indent', a, 2);
    return indent(int(a[0]), str(a[1]));
  },
  nindent: (a) => {
    arity('nindent', a, 2);
    return `\n${indent(int(a[0]), str(a[1]))}`;
  },
  toString: (a: Value[]) => str(a[0]),
  b64enc: (a) => Buffer.from(str(a[0])).toString('base64'),
  b64dec: (a) => Buffer.from(str(a[0]), 'base64').toString('utf8'),
  // sprig: lists and dicts.
  list: (a) => [...a],
  splitList: (a) => {
    arity('splitList', a, 2);
    return str(a[1]).split(str(a[0]));
  },
  join: (a) => {
    arity('join', a, 2);
    const v = a[1] as Value;
    return (Array.isArray(v) ? v : [v]).map(str).join(str(a[0]));
  },
  first: (a) => list(a[0], 'first')[0] ?? null,
  last: (a) => {
    const l = list(a[0], 'last');
    return l[l.length - 1] ?? null;
  },
  has: (a) => {
    arity('has', a, 2);
    return list(a[1], 'has').some((v) => v === a[0]);
  },
  until: (a) => {
    const n = Math.min(int(a[0]), 100_000);
    return Array.from({ length: Math.max(0, n) }, (_, i) => i);
  },
  dict: (a) => {
    const out = new Map<string, Value>();
    for (let i = 0; i < a.length; i += 2) out.set(str(a[i]), i + 1 < a.length ? (a[i + 1] as Value) : '');
    return out;
  },
  get: (a) => {
    arity('get', a, 2);
    const d = a[0];
    return d instanceof Map ? (d.get(str(a[1])) ?? '') : '';
  },
  hasKey: (a) => {
    arity('hasKey', a, 2);
    const d = a[0];
    return d instanceof Map && d.has(str(a[1]));
  },
  keys: (a) => a.flatMap((d) => (d instanceof Map ? [...d.keys()] : [])),
  // sprig: numbers (int64).
  atoi: (a) => {
    const n = Number.parseInt(str(a[0]), 10);
    return /^[+-]?\d+$/.test(str(a[0]).trim()) && Number.isFinite(n) ? n : 0;
  },
  int: (a) => int(a[0]),
  add: (a) => a.reduce<number>((s, v) => s + int(v), 0),
  add1: (a) => int(a[0]) + 1,
  sub: (a) => {
    arity('sub', a, 2);
    return int(a[0]) - int(a[1]);
  },
  mul: (a) => a.reduce<number>((s, v) => s * int(v), 1),
  div: (a) => {
    arity('div', a, 2);
    if (int(a[1]) === 0) throw fail('integer divide by zero');
    return Math.trunc(int(a[0]) / int(a[1]));
  },
  mod: (a) => {
    arity('mod', a, 2);
    if (int(a[1]) === 0) throw fail('integer divide by zero');
    return int(a[0]) % int(a[1]);
  },
  max: (a) => Math.max(...a.map(int)),
  min: (a) => Math.min(...a.map(int)),
};
