import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../src/agent/backoff.js';

describe('reconnect backoff', () => {
  const opts = { initialMs: 100, maxMs: 2000 };
  it('doubles up to the cap, with half of each delay jittered', () => {
    assert.equal(
      backoffDelay(0, opts, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(0, opts, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(3, opts, () => 0),
      400,
    );
    assert.equal(
      backoffDelay(3, opts, () => 1),
      800,
    );
    assert.equal(
      backoffDelay(50, opts, () => 1),
      2000,
    );
    assert.equal(
      backoffDelay(50, opts, () => 0),
      1000,
    );
  });
  it('spreads a fleet: delays for the same attempt differ', () => {
    const seen = new Set(Array.from({ length: 20 }, () => backoffDelay(4, opts)));
    assert.ok(seen.size > 10);
  });
});
