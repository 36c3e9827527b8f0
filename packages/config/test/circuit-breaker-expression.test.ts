// Traefik's circuit breaker expressions: what parses, what each error says and where, and how they evaluate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BreakerMetric } from '../src/index.js';
import { evaluateBreakerExpression, parseBreakerExpression, validateDynamic } from '../src/index.js';

function parsed(text: string) {
  const result = parseBreakerExpression(text);
  assert.ok(result.ok, `expected ${text} to parse: ${result.ok ? '' : result.message}`);
  return result.expression;
}

function failure(text: string): { column: number; message: string } {
  const result = parseBreakerExpression(text);
  assert.ok(!result.ok, `expected ${text} to be refused`);
  return { column: result.column, message: result.message };
}

const values = (v: Partial<Record<BreakerMetric['fn'], number>>) => (m: BreakerMetric) => v[m.fn] ?? 0;

describe('circuit breaker expressions', () => {
  it('parses the three metrics of Traefik’s documentation', () => {
    assert.deepEqual(parsed('NetworkErrorRatio() > 0.5'), {
      kind: 'compare',
      metric: { fn: 'NetworkErrorRatio' },
      op: '>',
      value: 0.5,
    });
    assert.deepEqual(parsed('ResponseCodeRatio(500, 600, 0, 600) > 0.25'), {
      kind: 'compare',
      metric: { fn: 'ResponseCodeRatio', from1: 500, to1: 600, from2: 0, to2: 600 },
      op: '>',
      value: 0.25,
    });
    assert.deepEqual(parsed('LatencyAtQuantileMS(50.0) > 100'), {
      kind: 'compare',
      metric: { fn: 'LatencyAtQuantileMS', quantile: 50 },
      op: '>',
      value: 100,
    });
  });

  it('binds && tighter than ||, honours parentheses, and reads a number on the left', () => {
    const e = parsed(
      'NetworkErrorRatio() > 0.5 || LatencyAtQuantileMS(50) > 100 && ResponseCodeRatio(500,600,0,600) > 0.1',
    );
    assert.equal(e.kind, 'or');
    const grouped = parsed(
      '(NetworkErrorRatio() > 0.5 || LatencyAtQuantileMS(50) > 100) && ResponseCodeRatio(500,600,0,600) > 0.1',
    );
    assert.equal(grouped.kind, 'and');
    assert.deepEqual(parsed('0.5 < NetworkErrorRatio()'), parsed('NetworkErrorRatio() > 0.5'));
    // a || (b && c) and (a || b) && c differ when a holds and c does not.
    const v = values({ NetworkErrorRatio: 0.9, LatencyAtQuantileMS: 0, ResponseCodeRatio: 0 });
    assert.equal(evaluateBreakerExpression(e, v), true);
    assert.equal(evaluateBreakerExpression(grouped, v), false);
  });

  it('evaluates every comparison', () => {
    const v = values({ NetworkErrorRatio: 0.5 });
    for (const [text, want] of [
      ['NetworkErrorRatio() > 0.5', false],
      ['NetworkErrorRatio() >= 0.5', true],
      ['NetworkErrorRatio() < 0.5', false],
      ['NetworkErrorRatio() <= 0.5', true],
      ['NetworkErrorRatio() == 0.5', true],
      ['NetworkErrorRatio() != 0.5', false],
    ] as const) {
      assert.equal(evaluateBreakerExpression(parsed(text), v), want, text);
    }
  });

  it('names the column of each mistake', () => {
    assert.deepEqual(failure('foobar'), {
      column: 1,
      message:
        'unknown function foobar; use NetworkErrorRatio(), LatencyAtQuantileMS() or ResponseCodeRatio()',
    });
    assert.equal(failure('NetworkErrorRatio() > ').column, 23);
    assert.match(failure('NetworkErrorRatio() > ').message, /expected a number after ">", found the end/);
    assert.equal(failure('NetworkErrorRatio() 0.5').column, 21);
    assert.match(failure('NetworkErrorRatio(1) > 0.5').message, /takes 0 argument\(s\), got 1/);
    assert.match(failure('ResponseCodeRatio(500, 600) > 0.5').message, /takes 4 argument\(s\), got 2/);
    assert.match(failure('ResponseCodeRatio(600, 500, 0, 600) > 0.5').message, /must end above/);
    assert.match(failure('LatencyAtQuantileMS(0) > 1').message, /above 0 and at most 100/);
    const unclosed = failure('(NetworkErrorRatio() > 0.5');
    assert.equal(unclosed.column, 27);
    assert.match(unclosed.message, /expected "\)"/);
    assert.equal(failure('NetworkErrorRatio() > 0.5 &').column, 27);
    assert.equal(failure('NetworkErrorRatio() > 0.5 extra').column, 27);
  });

  it('is checked when the configuration is validated, with a stable code', () => {
    const result = validateDynamic({
      http: {
        routers: {},
        services: {},
        middlewares: {
          cb: { circuitBreaker: { expression: 'NetworkErrorRatio() >> 0.5' } },
          ok: {
            circuitBreaker: { expression: 'NetworkErrorRatio() > 0.5', checkPeriod: '1s', responseCode: 502 },
          },
        },
      },
    });
    const codes = result.errors.map((e) => `${e.path} ${e.code}`);
    assert.deepEqual(codes, [
      'http.middlewares.cb.circuitBreaker.expression BERTH_CONFIG_CIRCUIT_BREAKER_EXPRESSION',
    ]);
    assert.match(result.errors[0]!.message, /at column 22/);
    assert.deepEqual(result.config.http.middlewares?.['ok'], {
      circuitBreaker: { expression: 'NetworkErrorRatio() > 0.5', checkPeriod: '1s', responseCode: 502 },
    });
  });
});
