import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renewalPlan, renewalWindowStart } from '../src/acme/renewal-plan.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 1);
/** A Let's Encrypt-shaped certificate: 90 days from T0. */
const cert = { notBefore: T0, notAfter: T0 + 90 * DAY };
const third = { renewBefore: { fraction: 1 / 3 } };
const low = () => 0;
const high = () => 0.999999;

describe('renewalPlan', () => {
  it('orders at once when nothing is stored or the certificate has expired', () => {
    assert.deepEqual(renewalPlan(null, T0, third), {
      at: T0,
      reason: 'missing',
      windowStart: null,
      expiringSoon: false,
    });
    const late = T0 + 91 * DAY;
    const plan = renewalPlan(cert, late, third);
    assert.equal(plan.at, late);
    assert.equal(plan.reason, 'expired');
    assert.equal(plan.expiringSoon, true);
  });

  it('renews when a third of the lifetime remains, jittered later by at most a tenth of the window, 12 h at most', () => {
    const windowStart = T0 + 60 * DAY;
    assert.equal(renewalWindowStart(cert, third.renewBefore), windowStart);
    const early = renewalPlan(cert, T0 + DAY, third, null, low);
    assert.deepEqual(early, { at: windowStart, reason: 'window', windowStart, expiringSoon: false });
    const late = renewalPlan(cert, T0 + DAY, third, null, high);
    assert.ok(late.at > windowStart && late.at < windowStart + 12 * HOUR);
    // Short-lived certificates: the jitter shrinks with the window (a tenth of 8 h here).
    const short = { notBefore: T0, notAfter: T0 + 24 * HOUR };
    const s = renewalPlan(short, T0, third, null, high);
    assert.ok(s.at >= T0 + 16 * HOUR && s.at < T0 + 16 * HOUR + 48 * MINUTE);
  });

  it('takes a fixed renewBefore, and a window longer than the lifetime is all of it', () => {
    assert.equal(renewalWindowStart(cert, { ms: 30 * DAY }), T0 + 60 * DAY);
    assert.equal(renewalWindowStart(cert, { ms: 365 * DAY }), T0);
    assert.equal(renewalWindowStart(cert, { fraction: 1 }), T0);
    // Inside the window already: now, not a past time.
    const now = T0 + 70 * DAY;
    assert.equal(renewalPlan(cert, now, third, null, low).at, now);
  });

  it('backs off exponentially after failures, capped, and never retries within the minimum', () => {
    const now = T0 + 61 * DAY;
    const at = (count: number) => renewalPlan(cert, now, third, { count, lastAttemptAt: now }, low).at - now;
    assert.equal(at(1), MINUTE);
    assert.equal(at(2), 2 * MINUTE);
    assert.equal(at(5), 16 * MINUTE);
    assert.equal(at(20), 6 * HOUR);
    assert.equal(at(10_000), 6 * HOUR);
    // Jitter only shortens the wait, and never below the minimum.
    const jittered = renewalPlan(cert, now, third, { count: 1, lastAttemptAt: now }, high);
    assert.equal(jittered.at - now, MINUTE);
    assert.equal(jittered.reason, 'backoff');
    for (let count = 1; count < 40; count++) {
      for (const random of [low, high, () => 0.5]) {
        const plan = renewalPlan(cert, now, third, { count, lastAttemptAt: now }, random);
        assert.ok(plan.at - now >= MINUTE, `count ${count}: ${plan.at - now} ms`);
      }
    }
  });

  it('retries more often as expiry nears: the cap is a quarter of the remaining lifetime', () => {
    const now = cert.notAfter - 2 * HOUR;
    const plan = renewalPlan(cert, now, third, { count: 12, lastAttemptAt: now }, low);
    assert.equal(plan.at - now, 30 * MINUTE);
    assert.equal(plan.expiringSoon, true);
  });

  it("honours the CA's Retry-After, even beyond the backoff cap", () => {
    const now = T0 + 61 * DAY;
    const plan = renewalPlan(cert, now, third, { count: 1, lastAttemptAt: now, retryAfterMs: 3 * HOUR }, low);
    assert.equal(plan.at - now, 3 * HOUR);
    assert.equal(plan.reason, 'retry-after');
    const day = renewalPlan(cert, now, third, { count: 1, lastAttemptAt: now, retryAfterMs: 2 * DAY }, low);
    assert.equal(day.at - now, 2 * DAY);
    // A short Retry-After does not undercut the backoff.
    const short = renewalPlan(cert, now, third, { count: 4, lastAttemptAt: now, retryAfterMs: 1000 }, low);
    assert.equal(short.at - now, 8 * MINUTE);
    assert.equal(short.reason, 'backoff');
  });

  it('counts the backoff from the failed attempt, and never plans in the past', () => {
    const failedAt = T0 + 61 * DAY;
    const later = failedAt + 30 * MINUTE;
    assert.equal(renewalPlan(cert, later, third, { count: 3, lastAttemptAt: failedAt }, low).at, later);
    assert.equal(
      renewalPlan(null, later, third, { count: 7, lastAttemptAt: failedAt }, low).at,
      failedAt + 64 * MINUTE,
    );
  });
});
