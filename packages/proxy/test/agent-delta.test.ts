// Issue 13: the agent applies deltas on its applied snapshot, checks the result like a full
// snapshot, asks for the full snapshot when a delta does not fit, and caches what it applied.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  certificateFingerprint,
  certifySigningKey,
  createSnapshotSigner,
  DELTA_CAPABILITY,
  type DeltaMessage,
  decodeFrame,
  deltaBetween,
  encodeDelta,
  encodeSnapshot,
  hashBody,
  type NodeMessage,
  type Snapshot,
  type SnapshotBody,
  type SnapshotSigner,
} from '@berth/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import { Agent, type AppliedVersion } from '../src/agent/agent.js';
import { CACHE_FILE } from '../src/agent/snapshot-cache.js';
import { captureLog, waitFor } from './support/log-capture.js';
import {
  closeStandIn,
  controllerTlsOptions,
  listenOnLoopback,
  makeNodeIdentity,
  makePki,
} from './support/pki.js';
import { body, service } from './support/snapshot.js';

const SECRET = 'V'.repeat(43);
const NODE_ID = '5f0c2d1e-8a7f-4c3e-9a55-3f1d2e4b6a71';

/** Version `v`: routes r1..rv. */
function bodyOf(v: number): SnapshotBody {
  const routers: Record<string, { rule: string; service: string }> = {};
  for (let i = 1; i <= v; i++) routers[`r${i}`] = { rule: `Host(\`r${i}.test\`)`, service: 's' };
  return body(routers, { s: service('http://127.0.0.1:1') });
}

describe('the agent and snapshot deltas', () => {
  let dir: string;
  let server: Server;
  let wss: WebSocketServer;
  let caPem: string;
  let port: number;
  let signer: SnapshotSigner;
  /** What the stand-in controller received, and the live socket. */
  const received: NodeMessage[] = [];
  let peer: WebSocket | null = null;

  const snap = (v: number, epoch = 'e1'): Snapshot => {
    const b = bodyOf(v);
    return signer.sign({
      epoch,
      version: v,
      hash: hashBody(b),
      createdAt: new Date(v).toISOString(),
      body: b,
    });
  };
  const sendDelta = (d: DeltaMessage) => peer?.send(encodeDelta(d), { binary: true });
  const sendFull = (s: Snapshot) => peer?.send(encodeSnapshot(s), { binary: true });
  const acked = (v: number) => received.some((m) => m.type === 'ack' && m.version === v);
  const resyncs = () => received.filter((m) => m.type === 'resync');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-agent-delta-'));
    const pki = await makePki(dir);
    caPem = pki.caPem;
    const signingKey = generateKeyPairSync('ed25519').privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    signer = createSnapshotSigner(
      signingKey,
      certifySigningKey(signingKey, await readFile(join(dir, 'ca.key'), 'utf8')),
    );
    server = createServer(controllerTlsOptions(pki));
    wss = new WebSocketServer({ server, path: '/v1/connect' });
    wss.on('connection', (ws) => {
      peer = ws;
      ws.on('message', (data, isBinary) => {
        const d = decodeFrame(data as Buffer, isBinary);
        if (d.ok && d.message.type !== 'stats' && d.message.type !== 'heartbeat')
          received.push(d.message as NodeMessage);
      });
    });
    port = await listenOnLoopback(server);
  });

  after(() => closeStandIn(server, wss, dir));

  it('applies good deltas, resyncs on a bad one without applying it, and caches what it applied', async () => {
    const { logger, lines } = captureLog();
    const agentDir = await mkdtemp(join(tmpdir(), 'berth-agent-node-'));
    await makeNodeIdentity(dir, agentDir, NODE_ID);
    const applied: { routes: string[]; version: AppliedVersion | undefined }[] = [];
    const newAgent = () =>
      new Agent({
        token: {
          url: `wss://127.0.0.1:${port}`,
          caFingerprint: certificateFingerprint(caPem),
          secret: SECRET,
        },
        name: 'edge-1',
        dataDir: agentDir,
        applier: {
          apply: async (b, version) => {
            applied.push({ routes: Object.keys(b.http.routers).sort(), version });
            return { ok: true, listeners: [] };
          },
          listeners: () => [],
        },
        logger,
        reconnectInitialMs: 50,
        reconnectMaxMs: 100,
      });
    let agent = newAgent();
    try {
      await agent.start();
      await waitFor(() => received.some((m) => m.type === 'hello'), 'hello');
      const hello = received.find((m) => m.type === 'hello');
      assert.deepEqual(hello?.type === 'hello' && hello.capabilities, [DELTA_CAPABILITY]);

      const [v1, v2, v3, v4, v5] = [1, 2, 3, 4, 5].map((v) => snap(v)) as [
        Snapshot,
        Snapshot,
        Snapshot,
        Snapshot,
        Snapshot,
      ];
      sendFull(v1);
      await waitFor(() => acked(1), 'ack of the full v1');

      // A good delta: applied, verified, ACKed like a full snapshot.
      sendDelta(deltaBetween(v1, v2));
      await waitFor(() => acked(2), 'ack of delta 1→2');
      assert.deepEqual(applied.at(-1)?.routes, ['r1', 'r2']);
      const line = lines.find((l) => l['msg'] === 'applied snapshot' && l['version'] === 2);
      assert.equal(line?.['kind'], 'delta');
      assert.equal(agent.applied?.hash, v2.hash);

      // Tampered ops: the result does not hash to what the delta announces.
      const appliedBefore = applied.length;
      sendDelta({
        ...deltaBetween(v2, v3),
        ops: [
          { op: 'set', path: ['http', 'routers', 'evil'], value: { rule: 'Host(`evil`)', service: 's' } },
        ],
      });
      await waitFor(() => resyncs().length === 1, 'resync after a tampered delta');
      assert.deepEqual(
        { ...resyncs()[0], reason: undefined },
        { type: 'resync', epoch: 'e1', version: 3, code: 'BERTH_PROTOCOL_HASH_MISMATCH', reason: undefined },
      );
      // A result that hashes right under a signature of something else.
      sendDelta({ ...deltaBetween(v2, v3), signature: v4.signature! });
      await waitFor(() => resyncs().length === 2, 'resync after a badly signed delta');
      assert.equal(resyncs()[1]?.type === 'resync' && resyncs()[1]?.code, 'BERTH_SNAPSHOT_SIGNATURE');
      // A delta for another base than the one served.
      sendDelta(deltaBetween(v3, v4));
      await waitFor(() => resyncs().length === 3, 'resync after a delta for another base');
      assert.equal(resyncs()[2]?.type === 'resync' && resyncs()[2]?.code, 'BERTH_PROTOCOL_DELTA_BASE');
      assert.equal(applied.length, appliedBefore, 'nothing was applied');
      assert.equal(agent.applied?.version, 2);
      assert.ok(!received.some((m) => m.type === 'nack'), 'a bad delta is a resync, not a NACK');

      // The controller answers with the full snapshot; the next delta goes on from it.
      sendFull(v4);
      await waitFor(() => acked(4), 'ack of the full v4');
      sendDelta(deltaBetween(v4, v5));
      await waitFor(() => acked(5), 'ack of delta 4→5');
      assert.deepEqual(applied.at(-1)?.routes, ['r1', 'r2', 'r3', 'r4', 'r5']);

      // What a delta made is cached like a full snapshot: a restart serves it.
      await agent.stop();
      const cached = JSON.parse(await readFile(join(agentDir, CACHE_FILE), 'utf8')) as Snapshot;
      assert.equal(cached.version, 5);
      assert.equal(hashBody(cached.body), v5.hash);
      agent = newAgent();
      const before = applied.length;
      peer = null;
      await agent.start();
      assert.equal(applied.length, before + 1, 'served from the cache at start');
      assert.deepEqual(applied.at(-1)?.version, { version: 5, epoch: 'e1', hash: v5.hash });
      assert.equal(agent.applied?.version, 5);
    } finally {
      await agent.stop();
      await rm(agentDir, { recursive: true, force: true });
    }
  });
});
