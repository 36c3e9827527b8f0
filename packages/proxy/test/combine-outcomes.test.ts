// How the answers of a node's workers to one snapshot fold into the node's single ACK or NACK.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  combineOutcomes,
  NO_WORKERS,
  WORKER_LOST,
  type WorkerOutcome,
} from '../src/workers/combine-outcomes.js';

const web = (port: number) => [{ entryPoint: 'web', address: `127.0.0.1:${port}` }];
const ok = (worker: string, port = 80): WorkerOutcome<string> => ({
  worker,
  result: { ok: true, listeners: web(port) },
});
const refused = (worker: string, code = 'BERTH_PROXY_LISTEN'): WorkerOutcome<string> => ({
  worker,
  result: { ok: false, code, error: `${worker} cannot` },
});
const lost = (worker: string): WorkerOutcome<string> => ({ worker, lost: true });

describe('combining worker outcomes', () => {
  it('is ok with the listeners when every worker applied', () => {
    const c = combineOutcomes([ok('a'), ok('b')]);
    assert.deepEqual(c.result, { ok: true, listeners: web(80) });
    assert.deepEqual(c.applied, ['a', 'b']);
    assert.deepEqual(c.revert, []);
    assert.deepEqual(c.diverged, []);
  });

  it('adds the UDP listeners of the one worker serving UDP, without calling the others divergent', () => {
    const dns = {
      entryPoint: 'dns',
      address: '127.0.0.1:53',
      state: 'bound' as const,
      protocol: 'udp' as const,
    };
    const c = combineOutcomes<string>([
      ok('b'),
      { worker: 'a', result: { ok: true, listeners: [dns, ...web(80)] } },
    ]);
    assert.deepEqual(c.result, { ok: true, listeners: [dns, ...web(80)] });
    assert.deepEqual(c.diverged, []);
  });

  it('refuses with the first refusal and reverts every worker that applied', () => {
    const c = combineOutcomes([ok('a'), refused('b', 'X1'), ok('c'), refused('d', 'X2')]);
    assert.deepEqual(c.result, { ok: false, code: 'X1', error: 'b cannot' });
    assert.deepEqual(c.revert, ['a', 'c']);
    assert.deepEqual(c.applied, []);
  });

  it('does not count a worker that died as a refusal', () => {
    const c = combineOutcomes([lost('a'), ok('b')]);
    assert.equal(c.result.ok, true);
    assert.deepEqual(c.applied, ['b']);
  });

  it('refuses when every worker died applying the snapshot', () => {
    const c = combineOutcomes([lost('a'), lost('b')]);
    assert.equal(!c.result.ok && c.result.code, WORKER_LOST);
    assert.deepEqual(c.revert, []);
  });

  it('refuses when there is no worker at all', () => {
    const c = combineOutcomes<string>([]);
    assert.equal(!c.result.ok && c.result.code, NO_WORKERS);
  });

  it('names the workers whose listeners differ from the first one', () => {
    const c = combineOutcomes([ok('a', 80), ok('b', 81), ok('c', 80)]);
    assert.equal(c.result.ok, true);
    assert.deepEqual(c.diverged, ['b']);
  });
});
