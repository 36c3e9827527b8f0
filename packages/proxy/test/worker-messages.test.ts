// The worker IPC vocabulary: what is accepted from the other side, and the init a worker needs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFromWorker, isToWorker, parseWorkerInit } from '../src/workers/messages.js';

describe('worker messages', () => {
  it('accepts apply, stop and ping for workers, and nothing else', () => {
    assert.equal(isToWorker({ type: 'berth:apply', seq: 1, body: {} }), true);
    assert.equal(isToWorker({ type: 'berth:stop' }), true);
    assert.equal(isToWorker({ type: 'berth:ping' }), true);
    assert.equal(isToWorker({ type: 'berth:apply', seq: '1', body: {} }), false);
    assert.equal(isToWorker({ type: 'berth:apply', seq: 1 }), false);
    assert.equal(isToWorker('berth:stop'), false);
    // The primary's answer to a worker's prometheus@internal: the merged text, or null.
    assert.equal(isToWorker({ type: 'berth:node-metrics', seq: 1, text: 'x 1\n' }), true);
    assert.equal(isToWorker({ type: 'berth:node-metrics', seq: 1, text: null }), true);
    assert.equal(isToWorker({ type: 'berth:node-metrics', seq: 1 }), false);
    assert.equal(isToWorker(null), false);
  });

  it('accepts ready, pong and applied from workers, and nothing else', () => {
    assert.equal(isFromWorker({ type: 'berth:ready' }), true);
    assert.equal(isFromWorker({ type: 'berth:pong' }), true);
    assert.equal(isFromWorker({ type: 'berth:applied', seq: 3, result: { ok: true, listeners: [] } }), true);
    assert.equal(isFromWorker({ type: 'berth:applied', seq: 3 }), false);
    assert.equal(isFromWorker({ type: 'berth:node-metrics', seq: 4 }), true);
    assert.equal(isFromWorker({ type: 'berth:node-metrics' }), false);
    assert.equal(isFromWorker({ cmd: 'NODE_CLUSTER' }), false);
  });

  it('reads the init of a worker, and rejects a missing or malformed one', () => {
    const init = { slot: 2, logLevel: 'info', bindings: { node: 'n' }, entryPointOverrides: {} };
    assert.deepEqual(parseWorkerInit(JSON.stringify(init)), init);
    assert.equal(parseWorkerInit(undefined), null);
    assert.equal(parseWorkerInit('{'), null);
    assert.equal(parseWorkerInit(JSON.stringify({ ...init, slot: '2' })), null);
    assert.equal(parseWorkerInit(JSON.stringify({ ...init, entryPointOverrides: null })), null);
  });
});
