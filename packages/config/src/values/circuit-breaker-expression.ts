// Traefik's circuit breaker expressions (oxy's predicate language): metrics compared to numbers, `&&`, `||`, parentheses.

/** A metric the node measures over its rolling window (see the proxy's circuit-breaker middleware). */
export type BreakerMetric =
  | { fn: 'NetworkErrorRatio' }
  /** Latency at quantile `quantile` (0..100), in milliseconds. */
  | { fn: 'LatencyAtQuantileMS'; quantile: number }
  /** Responses with a status in [from1, to1) over those in [from2, to2) (0 when there are none). */
  | { fn: 'ResponseCodeRatio'; from1: number; to1: number; from2: number; to2: number };

export type CompareOp = '<' | '<=' | '>' | '>=' | '==' | '!=';

export type BreakerExpression =
  | { kind: 'compare'; metric: BreakerMetric; op: CompareOp; value: number }
  | { kind: 'and' | 'or'; left: BreakerExpression; right: BreakerExpression };

export type BreakerParse =
  | { ok: true; expression: BreakerExpression }
  /** `column`: 1-based position of the problem in the expression text. */
  | { ok: false; column: number; message: string };

type Token =
  | { type: 'ident'; text: string; at: number }
  | { type: 'number'; value: number; text: string; at: number }
  | { type: 'op'; text: string; at: number }
  | { type: 'end'; at: number };

const ARITY: Readonly<Record<BreakerMetric['fn'], number>> = {
  NetworkErrorRatio: 0,
  LatencyAtQuantileMS: 1,
  ResponseCodeRatio: 4,
};

const OPS = ['&&', '||', '<=', '>=', '==', '!=', '<', '>', '(', ')', ','];

class ParseError extends Error {
  constructor(
    readonly at: number,
    message: string,
  ) {
    super(message);
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (ident !== null) {
      tokens.push({ type: 'ident', text: ident[0], at: i });
      i += ident[0].length;
      continue;
    }
    const num = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (num !== null) {
      tokens.push({ type: 'number', value: Number(num[0]), text: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op === undefined) throw new ParseError(i, `unexpected character ${JSON.stringify(c)}`);
    tokens.push({ type: 'op', text: op, at: i });
    i += op.length;
  }
  tokens.push({ type: 'end', at: text.length });
  return tokens;
}

function describe(token: Token): string {
  if (token.type === 'end') return 'the end of the expression';
  return JSON.stringify(token.type === 'number' ? token.text : token.text);
}

/**
 * Parses `expression` as Traefik does (oxy's cbreaker): `NetworkErrorRatio()`,
 * `LatencyAtQuantileMS(q)`, `ResponseCodeRatio(from1, to1, from2, to2)` compared with a number
 * (`<`, `<=`, `>`, `>=`, `==`, `!=`, on either side), joined by `&&` (binding tighter) and `||`,
 * grouped by parentheses. Pure; errors name the 1-based column.
 */
export function parseBreakerExpression(expression: string): BreakerParse {
  try {
    const tokens = tokenize(expression);
    let pos = 0;
    const peek = (): Token => tokens[pos]!;
    const take = (): Token => tokens[pos++]!;
    const isOp = (token: Token, text: string): boolean => token.type === 'op' && token.text === text;
    const expect = (text: string): void => {
      const token = take();
      if (!isOp(token, text)) throw new ParseError(token.at, `expected "${text}", found ${describe(token)}`);
    };

    const parseOr = (): BreakerExpression => {
      let left = parseAnd();
      while (isOp(peek(), '||')) {
        take();
        left = { kind: 'or', left, right: parseAnd() };
      }
      return left;
    };
    const parseAnd = (): BreakerExpression => {
      let left = parsePrimary();
      while (isOp(peek(), '&&')) {
        take();
        left = { kind: 'and', left, right: parsePrimary() };
      }
      return left;
    };
    const parsePrimary = (): BreakerExpression => {
      if (isOp(peek(), '(')) {
        take();
        const inner = parseOr();
        expect(')');
        return inner;
      }
      return parseComparison();
    };
    const parseComparison = (): BreakerExpression => {
      const first = peek();
      if (first.type === 'number') {
        take();
        const op = parseOp();
        const metric = parseMetric();
        return { kind: 'compare', metric, op: FLIPPED[op], value: first.value };
      }
      const metric = parseMetric();
      const op = parseOp();
      const value = take();
      if (value.type !== 'number')
        throw new ParseError(value.at, `expected a number after "${op}", found ${describe(value)}`);
      return { kind: 'compare', metric, op, value: value.value };
    };
    const parseOp = (): CompareOp => {
      const token = take();
      if (token.type === 'op' && token.text in FLIPPED) return token.text as CompareOp;
      throw new ParseError(
        token.at,
        `expected a comparison (<, <=, >, >=, ==, !=), found ${describe(token)}`,
      );
    };
    const parseMetric = (): BreakerMetric => {
      const name = take();
      if (name.type !== 'ident')
        throw new ParseError(
          name.at,
          `expected NetworkErrorRatio(), LatencyAtQuantileMS() or ResponseCodeRatio(), found ${describe(name)}`,
        );
      if (!Object.hasOwn(ARITY, name.text))
        throw new ParseError(
          name.at,
          `unknown function ${name.text}; use NetworkErrorRatio(), LatencyAtQuantileMS() or ResponseCodeRatio()`,
        );
      const fn = name.text as BreakerMetric['fn'];
      expect('(');
      const args: { value: number; at: number }[] = [];
      if (!isOp(peek(), ')')) {
        for (;;) {
          const arg = take();
          if (arg.type !== 'number')
            throw new ParseError(arg.at, `${fn}: expected a number argument, found ${describe(arg)}`);
          args.push({ value: arg.value, at: arg.at });
          if (!isOp(peek(), ',')) break;
          take();
        }
      }
      const close = peek();
      expect(')');
      if (args.length !== ARITY[fn])
        throw new ParseError(name.at, `${fn} takes ${ARITY[fn]} argument(s), got ${args.length}`);
      if (fn === 'NetworkErrorRatio') return { fn };
      if (fn === 'LatencyAtQuantileMS') {
        const q = args[0]!;
        if (q.value <= 0 || q.value > 100)
          throw new ParseError(q.at, `LatencyAtQuantileMS: the quantile must be above 0 and at most 100`);
        return { fn, quantile: q.value };
      }
      const [a, b, c, d] = args.map((x) => x.value) as [number, number, number, number];
      for (const x of args)
        if (!Number.isInteger(x.value))
          throw new ParseError(x.at, 'ResponseCodeRatio: status codes must be whole numbers');
      if (b <= a || d <= c)
        throw new ParseError(close.at, 'ResponseCodeRatio: each range must end above where it starts');
      return { fn, from1: a, to1: b, from2: c, to2: d };
    };

    const result = parseOr();
    const rest = peek();
    if (rest.type !== 'end') throw new ParseError(rest.at, `unexpected ${describe(rest)}`);
    return { ok: true, expression: result };
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, column: err.at + 1, message: err.message };
    throw err;
  }
}

/** `0.5 < X` is `X > 0.5`. */
const FLIPPED: Readonly<Record<CompareOp, CompareOp>> = {
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
  '==': '==',
  '!=': '!=',
};

/** Evaluates a parsed expression against `measure`, which returns each metric's current value. */
export function evaluateBreakerExpression(
  expression: BreakerExpression,
  measure: (metric: BreakerMetric) => number,
): boolean {
  switch (expression.kind) {
    case 'and':
      return (
        evaluateBreakerExpression(expression.left, measure) &&
        evaluateBreakerExpression(expression.right, measure)
      );
    case 'or':
      return (
        evaluateBreakerExpression(expression.left, measure) ||
        evaluateBreakerExpression(expression.right, measure)
      );
    case 'compare': {
      const x = measure(expression.metric);
      const v = expression.value;
      switch (expression.op) {
        case '<':
          return x < v;
        case '<=':
          return x <= v;
        case '>':
          return x > v;
        case '>=':
          return x >= v;
        case '==':
          return x === v;
        case '!=':
          return x !== v;
      }
    }
  }
}
