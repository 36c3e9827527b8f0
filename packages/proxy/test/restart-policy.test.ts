// When a worker that exited is replaced: at once, then with growing bounded delays while it keeps crashing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextRestart, type RestartPolicy } from '../src/workers/restart-policy.js';

const policy: RestartPolicy = { stableMs: 10_000, initialMs: 100, maxMs: 1_000 };
const top = () => 1;

describe('the restart policy', () => {
  it('replaces a worker at once the first time it exits', () => {
    assert.equal(nextRestart({ quickExits: 0 }, 0, policy, top), 0);
  });

  it('waits longer after each quick exit in a row, up to the maximum', () => {
    const history = { quickExits: 0 };
    const delays = Array.from({ length: 7 }, () => nextRestart(history, 500, policy, top));
    assert.deepEqual(delays, [0, 100, 200, 400, 800, 1000, 1000]);
  });

  it('starts over after a worker served longer than the stable period', () => {
    const history = { quickExits: 0 };
    for (let i = 0; i < 4; i++) nextRestart(history, 0, policy, top);
    assert.equal(nextRestart(history, 10_000, policy, top), 0);
    assert.equal(nextRestart(history, 0, policy, top), 100);
  });

  it('keeps delays between half and all of the cap (jitter)', () => {
    const history = { quickExits: 3 };
    const low = nextRestart({ ...history }, 0, policy, () => 0);
    const high = nextRestart({ ...history }, 0, policy, () => 1);
    assert.equal(low, 200);
    assert.equal(high, 400);
  });
});
