// circuitBreaker: the state machine on a fake clock, the rolling window, and a real node tripping and recovering.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parseBreakerExpression } from '@berth/config';
import { Breaker } from '../src/http/middlewares/circuit-breaker.js';
import { RollingMetrics } from '../src/http/middlewares/rolling-metrics.js';
import { call } from './support/client.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

function expression(text: string) {
  const parsed = parseBreakerExpression(text);
  assert.ok(parsed.ok);
  return parsed.expression;
}

describe('circuit breaker', () => {
  it('measures ratios and quantiles over the last ten seconds only', () => {
    const m = new RollingMetrics();
    m.record(0, 502, 10);
    m.record(500, 200, 20);
    m.record(1500, 500, 30);
    m.record(1600, 404, 40);
    assert.equal(m.measure(2000, { fn: 'NetworkErrorRatio' }), 1 / 4);
    assert.equal(
      m.measure(2000, { fn: 'ResponseCodeRatio', from1: 500, to1: 600, from2: 0, to2: 600 }),
      2 / 4,
    );
    assert.equal(m.measure(2000, { fn: 'LatencyAtQuantileMS', quantile: 50 }), 20);
    assert.equal(m.measure(2000, { fn: 'LatencyAtQuantileMS', quantile: 100 }), 40);
    // Ten seconds on, the first second's requests have left the window.
    assert.equal(m.measure(10_200, { fn: 'NetworkErrorRatio' }), 0);
    assert.equal(
      m.measure(10_200, { fn: 'ResponseCodeRatio', from1: 500, to1: 600, from2: 0, to2: 600 }),
      1 / 2,
    );
    assert.equal(m.measure(60_000, { fn: 'ResponseCodeRatio', from1: 500, to1: 600, from2: 0, to2: 600 }), 0);
  });

  it('trips when the expression holds at a check, falls back, recovers gradually, then stands by', () => {
    let now = 1_000;
    const b = new Breaker(
      expression('NetworkErrorRatio() > 0.5'),
      { checkMs: 100, fallbackMs: 1_000, recoveryMs: 1_000 },
      { now: () => now },
    );
    assert.equal(b.blocks(), false);
    b.record(200, 1);
    now += 10;
    b.record(502, 1);
    b.record(502, 1);
    assert.equal(b.state, 'standby', 'checked at most once per checkPeriod');
    now += 100;
    b.record(502, 1);
    assert.equal(b.state, 'tripped');
    assert.equal(b.blocks(), true);
    now += 999;
    assert.equal(b.blocks(), true, 'for the whole fallbackDuration');
    now += 2;
    // Recovering: a share of requests that grows with time goes through.
    let through = 0;
    for (let i = 0; i < 100; i++) if (!b.blocks()) through++;
    assert.equal(b.state, 'recovering');
    assert.equal(through, 0, 'at the very start of recovery nearly nothing goes through');
    now += 500;
    through = 0;
    for (let i = 0; i < 100; i++) if (!b.blocks()) through++;
    assert.ok(through > 0 && through < 100, `some go through halfway (${through})`);
    now += 501;
    assert.equal(b.blocks(), false);
    assert.equal(b.state, 'standby');
  });

  it('trips again when the server still fails while recovering', () => {
    let now = 0;
    const b = new Breaker(
      expression('ResponseCodeRatio(500, 600, 0, 600) > 0.5'),
      { checkMs: 10, fallbackMs: 100, recoveryMs: 1_000 },
      { now: () => now },
    );
    now = 20;
    b.record(500, 1);
    assert.equal(b.state, 'tripped');
    now = 200;
    while (b.blocks()) now += 50;
    assert.equal(b.state, 'recovering');
    now += 20;
    b.record(503, 1);
    assert.equal(b.state, 'tripped');
  });

  it('opens on a failing backend through a real node, answers 503, and recovers when the backend does', async () => {
    let failing = true;
    let hits = 0;
    const backend = await backendFor(cleanups, 'app', (_req, res) => {
      hits++;
      res.writeHead(failing ? 500 : 200);
      res.end(failing ? 'broken' : 'fine');
    });
    const plane = planeFor(cleanups);
    const b = body(
      { app: { rule: 'Host(`app.test`)', service: 'app', middlewares: ['cb'] } },
      { app: service(backend.url) },
    );
    b.http.middlewares = {
      cb: {
        circuitBreaker: {
          expression: 'ResponseCodeRatio(500, 600, 0, 600) > 0.25',
          checkPeriod: '10ms',
          fallbackDuration: '300ms',
          recoveryDuration: '200ms',
        },
      },
    };
    const port = await applied(plane, b);
    const first = await call(port, { host: 'app.test' });
    assert.equal(first.status, 500);
    await sleep(20);
    await call(port, { host: 'app.test' });
    const open = await call(port, { host: 'app.test' });
    assert.equal(open.status, 503);
    assert.equal(open.body, 'Service Unavailable');
    const hitsWhenOpen = hits;
    for (let i = 0; i < 5; i++) assert.equal((await call(port, { host: 'app.test' })).status, 503);
    assert.equal(hits, hitsWhenOpen, 'the backend is spared while the circuit is open');

    failing = false;
    await sleep(350);
    // Recovery starts with the first request after fallbackDuration and lets more through as it goes.
    const seen: number[] = [];
    let streak = 0;
    const deadline = Date.now() + 3_000;
    while (streak < 5 && Date.now() < deadline) {
      const status = (await call(port, { host: 'app.test' })).status;
      seen.push(status);
      streak = status === 200 ? streak + 1 : 0;
      await sleep(10);
    }
    assert.equal(streak, 5, `back to standby: ${seen.join(',')}`);
    assert.ok(
      seen.every((s) => s === 200 || s === 503),
      seen.join(','),
    );
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
