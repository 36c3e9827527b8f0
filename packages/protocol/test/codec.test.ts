import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  DELTA_CAPABILITY,
  type DeltaMessage,
  decodeFrame,
  decodeNodeFrame,
  encodeDelta,
  encodeMessage,
  encodeSnapshot,
  hashBody,
  NODE_FIELD_LIMITS,
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
      { type: 'leave' },
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

  it('round-trips resync and a hello naming capabilities', () => {
    const msgs: NodeMessage[] = [
      { type: 'resync', epoch: 'e', version: 5, code: 'BERTH_PROTOCOL_HASH_MISMATCH', reason: 'hash' },
      {
        type: 'hello',
        protocol: 2,
        nodeId: 'n',
        name: 'x',
        appliedVersion: 4,
        appliedEpoch: 'e',
        appliedHash: 'h',
        listeners: [],
        capabilities: [DELTA_CAPABILITY],
      },
    ];
    for (const m of msgs)
      assert.deepEqual(decodeNodeFrame(encodeMessage(m), false), { ok: true, message: m });
  });

  it('sends a delta as one compressed binary frame that decodes to the same delta', () => {
    const delta: DeltaMessage = {
      type: 'delta',
      epoch: 'e',
      baseVersion: 6,
      baseHash: 'b',
      version: 7,
      hash: 'h',
      createdAt: 'now',
      signature: { alg: 'ed25519', publicKey: 'p', keyCertificate: 'k', value: 'v' },
      ops: [
        { op: 'set', path: ['http', 'routers', 'a'], value: { rule: 'Host(`a`)', service: 's' } },
        { op: 'delete', path: ['http', 'routers', 'b'] },
      ],
    };
    assert.deepEqual(decodeFrame(encodeDelta(delta), true), {
      ok: true,
      message: delta,
    });
  });

  it('refuses malformed deltas and resyncs', () => {
    const good = {
      type: 'delta',
      epoch: 'e',
      baseVersion: 6,
      baseHash: 'b',
      version: 7,
      hash: 'h',
      createdAt: 'now',
      signature: { alg: 'ed25519', publicKey: 'p', keyCertificate: 'k', value: 'v' },
      ops: [],
    };
    const bad: unknown[] = [
      { ...good, signature: undefined },
      { ...good, signature: { alg: 'ed25519' } },
      { ...good, baseVersion: -1 },
      { ...good, ops: {} },
      { ...good, ops: [{ op: 'set', path: ['a'] }] },
      { ...good, ops: [{ op: 'move', path: ['a'], value: 1 }] },
      { ...good, ops: [{ op: 'delete', path: [] }] },
      { ...good, ops: [{ op: 'delete', path: [1] }] },
      { ...good, ops: [{ op: 'delete', path: Array.from({ length: 65 }, () => 'a') }] },
      { type: 'resync', epoch: 'e', version: 1, code: 'c' },
      {
        type: 'hello',
        ...JSON.parse('{"protocol":2,"nodeId":"n","name":"x","appliedVersion":0}'),
        appliedEpoch: null,
        appliedHash: null,
        listeners: [],
        capabilities: 'delta',
      },
    ];
    for (const m of bad) assert.equal(decodeFrame(JSON.stringify(m), false).ok, false, JSON.stringify(m));
    assert.equal(decodeFrame(JSON.stringify(good), false).ok, true);
    // Deltas go from the controller to nodes only.
    const fromNode = decodeNodeFrame(JSON.stringify(good), false);
    assert.equal(fromNode.ok, false);
    const tooMany = decodeNodeFrame(
      JSON.stringify({
        ...JSON.parse(encodeMessage({ type: 'leave' })),
        type: 'hello',
        protocol: 2,
        nodeId: 'n',
        name: 'x',
        appliedVersion: 0,
        appliedEpoch: null,
        appliedHash: null,
        listeners: [],
        capabilities: Array.from({ length: 65 }, () => 'delta'),
      }),
      false,
    );
    assert.equal(tooMany.ok, false);
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

describe('decodeNodeFrame', () => {
  const hello = (name: string, listeners: unknown[] = []) =>
    JSON.stringify({
      type: 'hello',
      protocol: 1,
      nodeId: 'n1',
      name,
      appliedVersion: 0,
      appliedEpoch: null,
      appliedHash: null,
      listeners,
    });

  it('accepts a well-formed text message', () => {
    const d = decodeNodeFrame(hello('edge-1'), false);
    assert.equal(d.ok, true);
  });

  it('accepts leave, the last word of a node that stops on purpose, with or without more fields', () => {
    assert.deepEqual(decodeNodeFrame('{"type":"leave"}', false), {
      ok: true,
      message: { type: 'leave' },
    });
    // A later node may say why; this controller reads only the type.
    assert.equal(decodeNodeFrame('{"type":"leave","reason":"SIGTERM"}', false).ok, true);
    const long = decodeNodeFrame(JSON.stringify({ type: 'leave', reason: 'x'.repeat(5000) }), false);
    assert.equal(long.ok, false);
  });

  it('refuses binary frames unopened, and snapshots from a node', () => {
    const d = decodeNodeFrame(gzipSync(hello('edge-1')), true);
    assert.deepEqual(d, {
      ok: false,
      code: 'BERTH_PROTOCOL_BAD_FRAME',
      error: 'nodes send text frames only',
    });
    const s = decodeNodeFrame(
      JSON.stringify({
        type: 'snapshot',
        snapshot: { epoch: 'e', version: 1, hash: 'h', createdAt: 'x', body: {} },
      }),
      false,
    );
    assert.equal(s.ok, false);
  });

  it('caps every string field and the listener count, naming the field', () => {
    const long = decodeNodeFrame(hello('x'.repeat(NODE_FIELD_LIMITS.id + 1)), false);
    assert.equal(long.ok, false);
    assert.match(
      (long as { error: string }).error,
      /'hello' message: field 'name' is 257 characters long \(at most 256\)/,
    );
    const addr = decodeNodeFrame(hello('ok', [{ entryPoint: 'web', address: 'a'.repeat(5000) }]), false);
    assert.match((addr as { error: string }).error, /field 'address'/);
    const many = decodeNodeFrame(
      hello(
        'ok',
        Array.from({ length: NODE_FIELD_LIMITS.listeners + 1 }, () => ({ entryPoint: 'w', address: ':1' })),
      ),
      false,
    );
    assert.match((many as { error: string }).error, /field 'listeners' has 1025 entries/);
    const nack = decodeNodeFrame(
      JSON.stringify({
        type: 'nack',
        epoch: 'e',
        version: 1,
        code: 'C',
        error: 'e'.repeat(NODE_FIELD_LIMITS.text + 1),
      }),
      false,
    );
    assert.match((nack as { error: string }).error, /field 'error'/);
  });
});
