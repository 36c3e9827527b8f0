import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeFrame,
  encodeMessage,
  encodeSnapshot,
  hashBody,
  type NodeMessage,
  SNAPSHOT_SCHEMA,
  type Snapshot,
} from '../src/index.js';

describe('the frame codec', () => {
  it('round-trips every node message as text', () => {
    const msgs: NodeMessage[] = [
      {
        type: 'hello',
        protocol: 1,
        nodeId: 'n',
        name: 'x',
        appliedVersion: 0,
        appliedEpoch: null,
        appliedHash: null,
        listeners: [],
      },
      {
        type: 'ack',
        epoch: 'e',
        version: 3,
        hash: 'h',
        listeners: [{ entryPoint: 'web', address: '127.0.0.1:80' }],
      },
      { type: 'nack', epoch: 'e', version: 4, code: 'BERTH_PROXY_LISTEN', error: 'busy' },
      { type: 'heartbeat', seq: 1, at: 2 },
      {
        type: 'listeners',
        listeners: [
          { entryPoint: 'web', address: '127.0.0.1:80', state: 'bound' },
          {
            entryPoint: 'admin',
            address: '127.0.0.1:81',
            state: 'retrying',
            error: { code: 'BERTH_PROXY_LISTEN', message: 'address already in use (EADDRINUSE)' },
          },
        ],
      },
    ];
    for (const m of msgs) {
      const d = decodeFrame(encodeMessage(m), false);
      assert.deepEqual(d, { ok: true, message: m });
    }
  });

  it('sends a snapshot as one compressed binary frame that decodes to the same snapshot', () => {
    const body = { schema: SNAPSHOT_SCHEMA, entryPoints: {}, http: { routers: {}, services: {} } };
    const snapshot: Snapshot = { epoch: 'e', version: 7, hash: hashBody(body), createdAt: 'now', body };
    const frame = encodeSnapshot(snapshot);
    assert.ok(Buffer.isBuffer(frame));
    assert.deepEqual(decodeFrame(frame, true), { ok: true, message: { type: 'snapshot', snapshot } });
  });

  it('returns an error, never throws, for garbage', () => {
    const junk: [Buffer | string, boolean][] = [
      ['', false],
      ['{', false],
      ['null', false],
      ['[]', false],
      ['{"type":"ack"}', false],
      ['{"type":"nope"}', false],
      ['{"type":"hello","protocol":-1}', false],
      ['{"type":"listeners","listeners":[{"entryPoint":"web","address":"a","state":"maybe"}]}', false],
      ['{"type":"listeners","listeners":[{"entryPoint":"web","address":"a","error":"busy"}]}', false],
      [Buffer.from([1, 2, 3]), true],
      [Buffer.alloc(0), true],
    ];
    for (const [data, bin] of junk) {
      const d = decodeFrame(data, bin);
      assert.equal(d.ok, false, String(data));
      if (!d.ok) assert.equal(d.code, 'BERTH_PROTOCOL_BAD_FRAME');
    }
  });
});
