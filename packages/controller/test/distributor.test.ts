import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  decodeFrame,
  encodeMessage,
  hashBody,
  type Message,
  SNAPSHOT_SCHEMA,
  type Snapshot,
  type SnapshotBody,
} from '@berth/protocol';
import pino from 'pino';
import WebSocket from 'ws';
import { Distributor } from '../src/distributor/distributor.js';
import { ensureControllerPki } from '../src/pki/controller-pki.js';

const snap = (version: number): Snapshot => {
  const body: SnapshotBody = {
    schema: SNAPSHOT_SCHEMA,
    entryPoints: { web: { address: `:${8000 + version}` } },
    http: { routers: {}, services: {} },
  };
  return { epoch: 'e1', version, hash: hashBody(body), createdAt: new Date().toISOString(), body };
};

/** A hand-driven node: records what it receives, acks only when told. */
class FakeNode {
  readonly received: Message[] = [];
  ws!: WebSocket;
  static async connect(url: string, ca: string, secret: string, name: string): Promise<FakeNode> {
    const n = new FakeNode();
    n.ws = new WebSocket(`${url}/v1/connect`, { ca, headers: { authorization: `Bearer ${secret}` } });
    n.ws.on('message', (data, isBinary) => {
      const d = decodeFrame(data as Buffer, isBinary);
      if (d.ok) n.received.push(d.message);
    });
    await new Promise<void>((resolve, reject) => {
      n.ws.once('open', () => resolve());
      n.ws.once('error', reject);
      n.ws.once('unexpected-response', (_q, res) => reject(new Error(`status ${res.statusCode}`)));
    });
    n.ws.send(
      encodeMessage({
        type: 'hello',
        protocol: 1,
        nodeId: `id-${name}`,
        name,
        appliedVersion: 0,
        appliedEpoch: null,
        appliedHash: null,
        listeners: [],
      }),
    );
    return n;
  }
  versions(): number[] {
    return this.received.flatMap((m) => (m.type === 'snapshot' ? [m.snapshot.version] : []));
  }
  ack(s: Snapshot): void {
    this.ws.send(
      encodeMessage({ type: 'ack', epoch: s.epoch, version: s.version, hash: s.hash, listeners: [] }),
    );
  }
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('the distributor', () => {
  let dir: string;
  let dist: Distributor;
  let url: string;
  let ca: string;
  const secret = 'S'.repeat(43);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-dist-'));
    const pki = await ensureControllerPki(dir, []);
    ca = pki.caCertPem;
    dist = new Distributor({
      tls: { certPem: pki.certPem + pki.caCertPem, keyPem: pki.keyPem },
      secret,
      logger: pino({ level: 'silent' }),
      heartbeatMs: 200,
    });
    const addr = await dist.listen('127.0.0.1', 0);
    url = `wss://127.0.0.1:${addr.port}`;
  });

  after(async () => {
    await dist.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives a slow node only the newest snapshot, never a queue of stale ones', async () => {
    const node = await FakeNode.connect(url, ca, secret, 'slow');
    dist.publish(snap(1));
    await until(() => node.versions().length === 1);
    dist.publish(snap(2));
    dist.publish(snap(3));
    dist.publish(snap(4));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(node.versions(), [1], 'one unacknowledged push at a time');
    node.ack(snap(1));
    await until(() => node.versions().length === 2);
    assert.deepEqual(node.versions(), [1, 4]);
    node.ack(snap(4));
    await until(() => dist.list().find((n) => n.name === 'slow')?.appliedVersion === 4);
    node.ws.close();
  });

  it('never resends a version a node refused, and shows the refusal', async () => {
    const node = await FakeNode.connect(url, ca, secret, 'picky');
    await until(() => node.versions().length === 1);
    const v = node.versions()[0]!;
    node.ws.send(
      encodeMessage({ type: 'nack', epoch: 'e1', version: v, code: 'BERTH_PROXY_LISTEN', error: 'busy' }),
    );
    await until(() => dist.list().find((n) => n.name === 'picky')?.lastNack !== null);
    const view = dist.list().find((n) => n.name === 'picky')!;
    assert.deepEqual(
      { ...view.lastNack, at: undefined },
      { version: v, code: 'BERTH_PROXY_LISTEN', error: 'busy', at: undefined },
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(node.versions(), [v]);
    dist.publish(snap(v + 1));
    await until(() => node.versions().length === 2);
    node.ws.close();
  });

  it('refuses a wrong secret with 401 before any message', async () => {
    await assert.rejects(FakeNode.connect(url, ca, 'W'.repeat(43), 'intruder'), /status 401/);
    assert.ok(!dist.list().some((n) => n.name === 'intruder'));
  });

  it('disconnects a node that stops answering heartbeats', async () => {
    const node = await FakeNode.connect(url, ca, secret, 'frozen');
    await until(() => dist.list().find((n) => n.name === 'frozen')?.connected === true);
    // Stop answering pings: pause the socket so no pong is written.
    (node.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    node.ws.pong = () => {};
    await until(() => dist.list().find((n) => n.name === 'frozen')?.connected === false, 3000);
    node.ws.terminate();
  });
});
