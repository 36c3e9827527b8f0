// Issue 10: one hello per connection, messages only after it, version mismatch refused, departed nodes expire, hello deadline from accept.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { CLOSE_PROTOCOL_VERSION, encodeMessage, type HelloMessage } from '@berth/protocol';
import WebSocket from 'ws';
import { startTestDistributor, type TestDistributor, until } from './support/distributor-harness.js';

const hello = (nodeId: string, protocol = 1): string =>
  encodeMessage({
    type: 'hello',
    protocol,
    nodeId,
    name: nodeId,
    appliedVersion: 0,
    appliedEpoch: null,
    appliedHash: null,
    listeners: [],
  } satisfies HelloMessage);

/** Opens the node channel with the right secret and says nothing yet. */
async function raw(t: TestDistributor): Promise<WebSocket> {
  const ws = new WebSocket(`${t.url}/v1/connect`, {
    ca: t.ca,
    headers: { authorization: `Bearer ${t.secret}` },
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

const closed = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );

describe('protocol discipline on the node channel', () => {
  let t: TestDistributor;

  before(async () => {
    t = await startTestDistributor(100, { nodeExpiryMs: 1500 });
  });

  after(() => t.close());

  it('closes a connection that sends a second hello, and lists only the first node', async () => {
    const ws = await raw(t);
    const done = closed(ws);
    ws.send(hello('first'));
    await until(() => t.dist.list().some((n) => n.id === 'first' && n.connected));
    ws.send(hello('second'));
    assert.deepEqual(await done, { code: 1008, reason: 'BERTH_PROTOCOL_VIOLATION' });
    assert.ok(!t.dist.list().some((n) => n.id === 'second'));
    await until(() => t.dist.list().find((n) => n.id === 'first')?.connected === false);
  });

  it('closes a connection that sends anything before hello', async () => {
    for (const msg of [
      encodeMessage({ type: 'ack', epoch: 'e', version: 1, hash: 'h', listeners: [] }),
      encodeMessage({ type: 'stats', at: 1, servers: [], requests: [], openConnections: 0 }),
      encodeMessage({ type: 'listeners', listeners: [] }),
    ]) {
      const ws = await raw(t);
      const done = closed(ws);
      ws.send(msg);
      assert.deepEqual(await done, { code: 1008, reason: 'BERTH_PROTOCOL_VIOLATION' });
    }
  });

  it('refuses a hello of another protocol version with a reason, and lists nothing', async () => {
    const ws = await raw(t);
    const done = closed(ws);
    ws.send(hello('from-the-future', 2));
    assert.deepEqual(await done, {
      code: CLOSE_PROTOCOL_VERSION,
      reason: 'BERTH_PROTOCOL_VERSION: controller speaks 1',
    });
    assert.ok(!t.dist.list().some((n) => n.id === 'from-the-future'));
  });

  it('closes the old connection of a node id taken over, and ignores it after', async () => {
    const a = await raw(t);
    const aClosed = closed(a);
    a.send(hello('taken'));
    await until(() => t.dist.list().some((n) => n.id === 'taken' && n.connected));
    const b = await raw(t);
    b.send(hello('taken'));
    await aClosed;
    b.send(encodeMessage({ type: 'listeners', listeners: [{ entryPoint: 'web', address: ':1' }] }));
    await until(() => t.dist.list().find((n) => n.id === 'taken')?.listeners.length === 1);
    b.close();
  });

  it('lists a departed node as disconnected, then forgets it after the expiry', async () => {
    const ws = await raw(t);
    ws.send(hello('departing'));
    await until(() => t.dist.list().some((n) => n.id === 'departing' && n.connected));
    ws.close();
    await until(() => t.dist.list().find((n) => n.id === 'departing')?.connected === false);
    await until(
      () => !t.dist.list().some((n) => n.id === 'departing'),
      'the departed node to expire',
      10_000,
    );
  });

  it('keeps a node that came back before the expiry', async () => {
    const first = await raw(t);
    first.send(hello('returning'));
    await until(() => t.dist.list().some((n) => n.id === 'returning' && n.connected));
    first.close();
    await until(() => t.dist.list().find((n) => n.id === 'returning')?.connected === false);
    const again = await raw(t);
    again.send(hello('returning'));
    await until(() => t.dist.list().find((n) => n.id === 'returning')?.connected === true);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(t.dist.list().find((n) => n.id === 'returning')?.connected, true);
    again.close();
  });
});

describe('the hello deadline', () => {
  let t: TestDistributor;

  before(async () => {
    t = await startTestDistributor(100, { helloTimeoutMs: 1000, preAuthTimeoutMs: 5000 });
  });

  after(() => t.close());

  it('counts from the TCP accept: a connection that took the whole time to upgrade gets no time for hello', async () => {
    const port = Number(new URL(t.url).port);
    // TLS now, the upgrade 1.2 s later (past the 1 s hello deadline, within the 5 s pre-auth one).
    const socket = tlsConnect({ port, host: '127.0.0.1', ca: t.ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    await new Promise((r) => setTimeout(r, 1200));
    const ws = new WebSocket(`${t.url}/v1/connect`, {
      headers: { authorization: `Bearer ${t.secret}` },
      createConnection: () => socket,
    });
    ws.on('error', () => {});
    const done = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.once('open', () => {
      // Well within a hello deadline that would count from the upgrade.
      setTimeout(() => {
        if (ws.readyState === ws.OPEN) ws.send(hello('late'));
      }, 300);
    });
    // Closed at once with the fix; without it the node would be listed and the wait end at 3 s.
    await Promise.race([done, new Promise((r) => setTimeout(r, 3000).unref())]);
    ws.terminate();
    assert.ok(!t.dist.list().some((n) => n.id === 'late'), 'the late hello was not accepted');
  });
});
