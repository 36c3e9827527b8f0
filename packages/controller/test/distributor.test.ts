import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import {
  decodeFrame,
  encodeMessage,
  hashBody,
  type Message,
  SNAPSHOT_SCHEMA,
  type Snapshot,
  type SnapshotBody,
} from '@berth/protocol';
import type { Distributor } from '../src/distributor/distributor.js';
import {
  enrollAs,
  joinAs,
  startTestDistributor,
  type TestDistributor,
  until,
} from './support/distributor-harness.js';

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
  ws!: Awaited<ReturnType<typeof joinAs>>;
  static async connect(t: TestDistributor, name: string, secret?: string): Promise<FakeNode> {
    const n = new FakeNode();
    n.ws = await joinAs(t, name, secret === undefined ? undefined : await enrollAs(t, name, secret));
    n.ws.on('message', (data, isBinary) => {
      const d = decodeFrame(data as Buffer, isBinary);
      if (d.ok) n.received.push(d.message);
    });
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

describe('the distributor', () => {
  let t: TestDistributor;
  let dist: Distributor;

  before(async () => {
    t = await startTestDistributor(200);
    dist = t.dist;
  });

  after(() => t.close());

  it('shows the listeners a node reports between snapshots: retrying, then bound', async () => {
    const node = await FakeNode.connect(t, 'rebinding');
    const retrying = {
      entryPoint: 'admin',
      address: '127.0.0.1:8081',
      state: 'retrying' as const,
      error: { code: 'BERTH_PROXY_LISTEN', message: 'address already in use (EADDRINUSE)' },
    };
    const s = snap(1);
    dist.publish(s);
    await until(() => node.versions().includes(1));
    node.ws.send(
      encodeMessage({ type: 'ack', epoch: s.epoch, version: s.version, hash: s.hash, listeners: [retrying] }),
    );
    const view = () => dist.list().find((n) => n.name === 'rebinding');
    await until(() => view()?.listeners[0]?.state === 'retrying');
    assert.deepEqual(view()?.listeners, [retrying]);
    const bound = { entryPoint: 'admin', address: '127.0.0.1:8081', state: 'bound' as const };
    node.ws.send(encodeMessage({ type: 'listeners', listeners: [bound] }));
    await until(() => view()?.listeners[0]?.state === 'bound');
    assert.deepEqual(view()?.listeners, [bound]);
    assert.equal(view()?.appliedVersion, 1);
    node.ws.close();
  });

  it('gives a slow node only the newest snapshot, never a queue of stale ones', async () => {
    const node = await FakeNode.connect(t, 'slow');
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
    const node = await FakeNode.connect(t, 'picky');
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
    await assert.rejects(FakeNode.connect(t, 'intruder', 'W'.repeat(43)), {
      status: 401,
      code: 'BERTH_TOKEN_REJECTED',
    });
    assert.ok(!dist.list().some((n) => n.name === 'intruder'));
  });

  it('survives clients that reset the connection right after sending a refused or half upgrade', async () => {
    const port = Number(new URL(t.url).port);
    for (const secret of ['W'.repeat(43), t.secret]) {
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((resolve) => {
          // TLS over a plain socket we keep, so the connection can be reset (RST) under the TLS layer.
          const raw = netConnect(port, '127.0.0.1');
          raw.on('error', () => {});
          raw.on('close', () => resolve());
          const socket = tlsConnect({ socket: raw, ca: t.ca, servername: 'localhost' }, () => {
            socket.write(
              `GET /v1/connect HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${'A'.repeat(22)}==\r\nAuthorization: Bearer ${secret}\r\n\r\n`,
            );
            // Reset instead of closing, before or after the answer arrives.
            setTimeout(() => raw.resetAndDestroy(), i % 3);
          });
          socket.on('error', () => {});
        });
      }
    }
    const ws = await joinAs(t, 'after-resets');
    await until(() => dist.list().some((n) => n.name === 'after-resets'), 'the node after the resets');
    ws.close();
  });

  it('drops a node that leaves at once, lists one that only disconnects, and lets the leaver rejoin', async () => {
    const leaver = await FakeNode.connect(t, 'leaver');
    const dropped = await FakeNode.connect(t, 'dropped');
    const view = (name: string) => dist.list().find((n) => n.name === name);
    await until(() => view('leaver')?.connected === true && view('dropped')?.connected === true);
    const closed = new Promise<number>((resolve) => leaver.ws.once('close', (code) => resolve(code)));
    leaver.ws.send(encodeMessage({ type: 'leave' }));
    assert.equal(await closed, 1000, 'the controller closes the connection normally');
    assert.equal(view('leaver'), undefined, 'no longer listed');
    dropped.ws.terminate();
    await until(() => view('dropped')?.connected === false, 'the dropped node to show as disconnected');

    // The identity is untouched: the same certificate joins again and is listed again.
    const back = await joinAs(t, 'leaver', leaver.ws.creds);
    await until(() => view('leaver')?.connected === true, 'the node to rejoin');
    back.close();
  });

  it('disconnects a node that stops answering heartbeats', async () => {
    const node = await FakeNode.connect(t, 'frozen');
    await until(() => dist.list().find((n) => n.name === 'frozen')?.connected === true);
    // Stop answering pings: pause the socket so no pong is written.
    (node.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    node.ws.pong = () => {};
    await until(
      () => dist.list().find((n) => n.name === 'frozen')?.connected === false,
      'the frozen node to be dropped',
    );
    node.ws.terminate();
  });
});
