// Issue 10: one hello per connection, messages only after it, version mismatch refused, departed nodes expire, hello deadline from accept.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { CLOSE_PROTOCOL_VERSION, encodeMessage, type HelloMessage, PROTOCOL_VERSION } from '@berth/protocol';
import WebSocket from 'ws';
import {
  connectAs,
  enrollAs,
  startTestDistributor,
  type TestDistributor,
  type TestNodeCredentials,
  until,
} from './support/distributor-harness.js';

/** Each node name of these tests enrolls once; its id is the one its certificate names. */
const enrolled = new Map<string, TestNodeCredentials>();
const idOf = (name: string) => enrolled.get(name)?.nodeId ?? '00000000-0000-4000-8000-000000000000';

const hello = (name: string, protocol = PROTOCOL_VERSION, nodeId = idOf(name)): string =>
  encodeMessage({
    type: 'hello',
    protocol,
    nodeId,
    name,
    appliedVersion: 0,
    appliedEpoch: null,
    appliedHash: null,
    listeners: [],
  } satisfies HelloMessage);

/** Opens the node channel with node `name`'s certificate (enrolling it the first time) and says nothing yet. */
async function raw(t: TestDistributor, name: string): Promise<WebSocket> {
  let creds = enrolled.get(name);
  if (!creds) {
    creds = await enrollAs(t, name);
    enrolled.set(name, creds);
  }
  const ws = connectAs(t, creds);
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
    const ws = await raw(t, 'first');
    const done = closed(ws);
    ws.send(hello('first'));
    await until(() => t.dist.list().some((n) => n.name === 'first' && n.connected));
    ws.send(hello('second'));
    assert.deepEqual(await done, { code: 1008, reason: 'BERTH_PROTOCOL_VIOLATION' });
    assert.ok(!t.dist.list().some((n) => n.name === 'second'));
    await until(() => t.dist.list().find((n) => n.name === 'first')?.connected === false);
  });

  it('closes a connection that sends anything before hello', async () => {
    for (const msg of [
      encodeMessage({ type: 'ack', epoch: 'e', version: 1, hash: 'h', listeners: [] }),
      encodeMessage({ type: 'stats', at: 1, servers: [], requests: [], openConnections: 0 }),
      encodeMessage({ type: 'listeners', listeners: [] }),
    ]) {
      const ws = await raw(t, 'eager');
      const done = closed(ws);
      ws.send(msg);
      assert.deepEqual(await done, { code: 1008, reason: 'BERTH_PROTOCOL_VIOLATION' });
    }
  });

  it('refuses a hello of another protocol version with a reason, and lists nothing', async () => {
    const ws = await raw(t, 'from-the-future');
    const done = closed(ws);
    ws.send(hello('from-the-future', 99));
    assert.deepEqual(await done, {
      code: CLOSE_PROTOCOL_VERSION,
      reason: `BERTH_PROTOCOL_VERSION: controller speaks ${PROTOCOL_VERSION}`,
    });
    assert.ok(!t.dist.list().some((n) => n.name === 'from-the-future'));
  });

  it('closes the old connection of a node that connects again with its certificate, and ignores it after', async () => {
    const a = await raw(t, 'taken');
    const aClosed = closed(a);
    a.send(hello('taken'));
    await until(() => t.dist.list().some((n) => n.name === 'taken' && n.connected));
    const b = await raw(t, 'taken');
    b.send(hello('taken'));
    await aClosed;
    b.send(encodeMessage({ type: 'listeners', listeners: [{ entryPoint: 'web', address: ':1' }] }));
    await until(() => t.dist.list().find((n) => n.name === 'taken')?.listeners.length === 1);
    b.close();
  });

  it('refuses a hello naming another node than the certificate: no node can take over another', async () => {
    const victim = await raw(t, 'victim');
    victim.send(hello('victim'));
    await until(() => t.dist.list().some((n) => n.name === 'victim' && n.connected));
    const intruder = await raw(t, 'intruder');
    const done = closed(intruder);
    intruder.send(hello('intruder', PROTOCOL_VERSION, idOf('victim')));
    assert.deepEqual(await done, { code: 1008, reason: 'BERTH_PROTOCOL_VIOLATION' });
    assert.equal(victim.readyState, WebSocket.OPEN, 'the victim keeps its connection');
    assert.ok(!t.dist.list().some((n) => n.name === 'intruder'));
    victim.close();
  });

  it('ignores an ack for a snapshot that was not pushed to the node', async () => {
    const ws = await raw(t, 'boastful');
    ws.send(hello('boastful'));
    await until(() => t.dist.list().some((n) => n.name === 'boastful' && n.connected));
    ws.send(encodeMessage({ type: 'ack', epoch: 'made-up', version: 99, hash: 'h', listeners: [] }));
    ws.send(encodeMessage({ type: 'listeners', listeners: [{ entryPoint: 'web', address: ':2' }] }));
    await until(() => t.dist.list().find((n) => n.name === 'boastful')?.listeners.length === 1);
    const view = t.dist.list().find((n) => n.name === 'boastful');
    assert.equal(view?.appliedVersion, 0);
    assert.equal(view?.lastAck, null);
    ws.close();
  });

  it('lists a departed node as disconnected, then forgets it after the expiry', async () => {
    const ws = await raw(t, 'departing');
    ws.send(hello('departing'));
    await until(() => t.dist.list().some((n) => n.name === 'departing' && n.connected));
    ws.close();
    await until(() => t.dist.list().find((n) => n.name === 'departing')?.connected === false);
    await until(
      () => !t.dist.list().some((n) => n.name === 'departing'),
      'the departed node to expire',
      10_000,
    );
  });

  it('keeps a node that came back before the expiry', async () => {
    const first = await raw(t, 'returning');
    first.send(hello('returning'));
    await until(() => t.dist.list().some((n) => n.name === 'returning' && n.connected));
    first.close();
    await until(() => t.dist.list().find((n) => n.name === 'returning')?.connected === false);
    const again = await raw(t, 'returning');
    again.send(hello('returning'));
    await until(() => t.dist.list().find((n) => n.name === 'returning')?.connected === true);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(t.dist.list().find((n) => n.name === 'returning')?.connected, true);
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
    const creds = await enrollAs(t, 'late');
    // TLS now, the upgrade 1.2 s later (past the 1 s hello deadline, within the 5 s pre-auth one).
    const socket = tlsConnect({
      port,
      host: '127.0.0.1',
      ca: t.ca,
      servername: 'localhost',
      cert: creds.certPem,
      key: creds.keyPem,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    await new Promise((r) => setTimeout(r, 1200));
    const ws = new WebSocket(`${t.url}/v1/connect`, { createConnection: () => socket });
    ws.on('error', () => {});
    const done = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.once('open', () => {
      // Well within a hello deadline that would count from the upgrade.
      setTimeout(() => {
        if (ws.readyState === ws.OPEN) ws.send(hello('late', PROTOCOL_VERSION, creds.nodeId));
      }, 300);
    });
    // Closed at once with the fix; without it the node would be listed and the wait end at 3 s.
    await Promise.race([done, new Promise((r) => setTimeout(r, 3000).unref())]);
    ws.terminate();
    assert.ok(!t.dist.list().some((n) => n.name === 'late'), 'the late hello was not accepted');
  });
});
