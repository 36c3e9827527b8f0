// Tests for passive health: ejection after failed requests, growing ejection time, reset on success.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HealthRegistry } from '../src/health/health-registry.js';
import { PASSIVE_DEFAULTS, PassiveState, resolvePassive } from '../src/health/passive-health.js';
import type { ServerTarget } from '../src/runtime/types.js';
import { healthBody } from './support/health-body.js';
import { captureLog } from './support/log-capture.js';

const target = (url: string): ServerTarget => {
  const u = new URL(url);
  return { url: u, origin: u.origin, weight: 1 };
};

describe('passive health settings', () => {
  it('default to a 10s window, 1 attempt, 10s first ejection growing to 5m', () => {
    assert.deepEqual(resolvePassive({}), PASSIVE_DEFAULTS);
    assert.deepEqual(PASSIVE_DEFAULTS, {
      windowMs: 10_000,
      maxFailedAttempts: 1,
      ejectMs: 10_000,
      maxEjectMs: 300_000,
    });
  });

  it('read durations and fall back on unreadable values', () => {
    assert.deepEqual(
      resolvePassive({ failureWindow: '2s', maxFailedAttempts: 3, ejectTime: '500ms', maxEjectTime: '4s' }),
      { windowMs: 2000, maxFailedAttempts: 3, ejectMs: 500, maxEjectMs: 4000 },
    );
    assert.deepEqual(resolvePassive({ failureWindow: 'soon', maxFailedAttempts: 0 }), PASSIVE_DEFAULTS);
    // A maximum below the first ejection would shrink it; the first ejection wins.
    assert.equal(resolvePassive({ ejectTime: '1m', maxEjectTime: '1s' }).maxEjectMs, 60_000);
  });
});

describe('a passive record', () => {
  const settings = { windowMs: 1000, maxFailedAttempts: 3, ejectMs: 100, maxEjectMs: 350 };

  it('ejects after maxFailedAttempts failures within the window', () => {
    const s = new PassiveState();
    assert.equal(s.record(false, 0, settings), null);
    assert.equal(s.record(false, 10, settings), null);
    assert.deepEqual(s.record(false, 20, settings), { kind: 'ejected', forMs: 100, failures: 3 });
    assert.equal(s.isEjected(20), true);
    assert.equal(s.isEjected(119), true);
    assert.equal(s.isEjected(120), false);
  });

  it('forgets failures older than the window', () => {
    const s = new PassiveState();
    s.record(false, 0, settings);
    s.record(false, 500, settings);
    assert.equal(s.record(false, 1001, settings), null, 'the run restarted at 1001');
    assert.equal(s.record(false, 1002, settings), null);
    assert.equal(s.record(false, 1003, settings)?.kind, 'ejected');
  });

  it('needs failures in a row: a success in between starts over', () => {
    const s = new PassiveState();
    s.record(false, 0, settings);
    s.record(false, 1, settings);
    assert.equal(s.record(true, 2, settings), null);
    assert.equal(s.record(false, 3, settings), null);
    assert.equal(s.record(false, 4, settings), null);
    assert.equal(s.record(false, 5, settings)?.kind, 'ejected');
  });

  it('doubles the ejection time on each ejection in a row, up to the maximum', () => {
    const one = { ...settings, maxFailedAttempts: 1 };
    const s = new PassiveState();
    let now = 0;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const event = s.record(false, now, one);
      assert.equal(event?.kind, 'ejected');
      if (event?.kind === 'ejected') times.push(event.forMs);
      now = s.ejectedUntil;
    }
    assert.deepEqual(times, [100, 200, 350, 350, 350]);
  });

  it('ignores outcomes while ejected and resets the growth on the first success after', () => {
    const one = { ...settings, maxFailedAttempts: 1 };
    const s = new PassiveState();
    s.record(false, 0, one);
    assert.equal(s.record(false, 50, one), null, 'a late failure does not extend the ejection');
    assert.equal(s.record(true, 60, one), null, 'a late success does not end it early');
    assert.equal(s.ejectedUntil, 100);
    s.record(false, 100, one);
    assert.equal(s.ejectedUntil, 300, 'second ejection: 200ms');
    assert.deepEqual(s.record(true, 300, one), { kind: 'recovered', ejections: 2 });
    assert.deepEqual(s.record(false, 301, one), { kind: 'ejected', forMs: 100, failures: 1 });
  });
});

describe('the health registry with passive checks', () => {
  it('takes an ejected server out for a growing time on an injected clock, and logs each ejection', async () => {
    let now = 1_000_000;
    const { logger, lines } = captureLog();
    const registry = new HealthRegistry({ logger, now: () => now });
    try {
      registry.update(
        healthBody({
          api: {
            servers: ['http://127.0.0.1:1/', 'http://127.0.0.1:2'],
            passiveHealthCheck: { maxFailedAttempts: 2, ejectTime: '10s', maxEjectTime: '25s' },
          },
        }),
      );
      const a = target('http://127.0.0.1:1');
      const b = target('http://127.0.0.1:2/');
      registry.record('api', a, false);
      assert.equal(registry.isAvailable('api', a), true, 'one failure is not enough');
      registry.record('api', a, false);
      assert.equal(registry.isAvailable('api', a), false);
      assert.equal(registry.isAvailable('api', b), true, 'other servers are unaffected');
      assert.deepEqual(
        registry.report().map((r) => [r.url, r.status, r.since]),
        [
          ['http://127.0.0.1:1/', 'ejected', now],
          ['http://127.0.0.1:2', 'up', now],
        ],
      );
      now += 9_999;
      assert.equal(registry.isAvailable('api', a), false);
      now += 1;
      assert.equal(registry.isAvailable('api', a), true, 'tried again after 10s');
      registry.record('api', a, false);
      registry.record('api', a, false);
      now += 19_999;
      assert.equal(registry.isAvailable('api', a), false, 'second ejection lasts 20s');
      now += 1;
      assert.equal(registry.isAvailable('api', a), true);
      registry.record('api', a, false);
      registry.record('api', a, false);
      now += 24_999;
      assert.equal(registry.isAvailable('api', a), false, 'third ejection is capped at 25s');
      now += 1;
      registry.record('api', a, true);
      registry.record('api', a, false);
      registry.record('api', a, false);
      now += 10_000;
      assert.equal(registry.isAvailable('api', a), true, 'a success reset the growth to 10s');

      const ejections = lines.filter((l) => l['msg'] === 'server ejected after failed requests');
      assert.deepEqual(
        ejections.map((l) => l['ejectMs']),
        [10_000, 20_000, 25_000, 10_000],
      );
      assert.equal(lines.filter((l) => l['msg'] === 'ejected server answered again').length, 1);
    } finally {
      await registry.close();
    }
  });

  it('lets an ejected server back at once when passive checks are turned off, and survives malformed servers', async () => {
    const registry = new HealthRegistry({ logger: captureLog().logger, now: () => 0 });
    try {
      const a = target('http://127.0.0.1:1');
      registry.update(healthBody({ api: { servers: ['http://127.0.0.1:1'], passiveHealthCheck: {} } }));
      registry.record('api', a, false);
      assert.equal(registry.isAvailable('api', a), false);
      registry.update(healthBody({ api: { servers: ['http://127.0.0.1:1'] } }));
      assert.equal(registry.isAvailable('api', a), true);
      const body = healthBody({ api: { servers: ['http://127.0.0.1:1'] } });
      const lb = body.http.services['api']?.loadBalancer;
      if (lb) lb.servers = [null, { url: 42 }, { url: 'not a url' }, { url: 'http://127.0.0.1:1' }] as never;
      registry.update(body);
      assert.equal(registry.report().length, 1);
    } finally {
      await registry.close();
    }
  });

  it('keeps an ejection across snapshots and ignores records for services without passive checks', async () => {
    let now = 0;
    const registry = new HealthRegistry({ logger: captureLog().logger, now: () => now });
    try {
      const body = healthBody({
        api: { servers: ['http://127.0.0.1:1'], passiveHealthCheck: {} },
        plain: { servers: ['http://127.0.0.1:3'] },
      });
      registry.update(body);
      const a = target('http://127.0.0.1:1');
      const c = target('http://127.0.0.1:3');
      registry.record('api', a, false);
      registry.record('plain', c, false);
      registry.update(structuredClone(body));
      assert.equal(registry.isAvailable('api', a), false);
      assert.equal(registry.isAvailable('plain', c), true);
      assert.equal(registry.isAvailable('unknown', c), true);
      now += 10_000;
      assert.equal(registry.isAvailable('api', a), true);
    } finally {
      await registry.close();
    }
  });
});
