// Waiting for every connected node to serve a version: what an ACME challenge waits for before the CA looks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeMessage, type Snapshot } from '@berth/protocol';
import type { Distributor } from '../src/distributor/distributor.js';
import { appliedState, NodesNotInSync } from '../src/distributor/when-applied.js';
import { startTestDistributor, type TestDistributor, until } from './support/distributor-harness.js';
import { FakeNode, snap } from './support/fake-node.js';

describe('waiting until every connected node serves a version', () => {
  let t: TestDistributor;
  let dist: Distributor;
  let version = 0;
  const publish = (): Snapshot => {
    const s = snap(++version, 'w1', 5);
    dist.publish(s);
    return s;
  };
  const nack = (node: FakeNode, s: Snapshot) =>
    node.ws.send(
      encodeMessage({
        type: 'nack',
        epoch: s.epoch,
        version: s.version,
        code: 'BERTH_PROXY_LISTEN',
        error: 'cannot listen on :80',
      }),
    );

  before(async () => {
    t = await startTestDistributor(200);
    dist = t.dist;
  });

  after(() => t.close());

  it('resolves at once with no node connected, and once both nodes ACKed', async () => {
    const v1 = publish();
    await dist.whenApplied(v1.epoch, v1.version, AbortSignal.timeout(1000));
    const a = await FakeNode.connect(t, 'a');
    const b = await FakeNode.connect(t, 'b');
    await until(() => a.pushes().length === 1 && b.pushes().length === 1);
    let done = false;
    const waiting = dist.whenApplied(v1.epoch, v1.version, AbortSignal.timeout(5000)).then(() => {
      done = true;
    });
    a.ack(v1);
    await until(() => dist.list().find((n) => n.name === 'a')?.appliedVersion === 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(done, false, 'b has not ACKed yet');
    b.ack(v1);
    await waiting;
    assert.equal(done, true);
    // A later version counts too.
    const v2 = publish();
    await until(() => a.pushes().length === 2 && b.pushes().length === 2);
    a.ack(v2);
    b.ack(v2);
    await dist.whenApplied(v1.epoch, v1.version, AbortSignal.timeout(1000));
    await dist.whenApplied(v2.epoch, v2.version, AbortSignal.timeout(5000));
    await a.close();
    await b.close();
  });

  it('rejects naming the node that refused the version, with its reason', async () => {
    const ok = await FakeNode.connect(t, 'ok-node');
    const refusing = await FakeNode.connect(t, 'refusing-node');
    await until(() => ok.pushes().length === 1 && refusing.pushes().length === 1);
    const current = snap(version, 'w1', 5);
    ok.ack(current);
    refusing.ack(current);
    await until(() => dist.list().every((n) => !n.connected || n.appliedVersion === version));
    const next = publish();
    await until(() => ok.pushes().length === 2 && refusing.pushes().length === 2);
    const waiting = dist.whenApplied(next.epoch, next.version, AbortSignal.timeout(5000));
    ok.ack(next);
    nack(refusing, next);
    await assert.rejects(waiting, (err: unknown) => {
      assert.ok(err instanceof NodesNotInSync);
      assert.equal(err.code, 'BERTH_NODE_REFUSED_VERSION');
      assert.deepEqual(err.nodes, ['refusing-node']);
      assert.match(err.message, /refusing-node .*refused v\d+: cannot listen on :80 \[BERTH_PROXY_LISTEN\]/);
      return true;
    });
    await ok.close();
    await refusing.close();
  });

  it('rejects when the signal aborts, naming the nodes still behind; a node that leaves stops counting', async () => {
    const slow = await FakeNode.connect(t, 'slow-node');
    const gone = await FakeNode.connect(t, 'gone-node');
    await until(() => slow.pushes().length === 1 && gone.pushes().length === 1);
    const current = snap(version, 'w1', 5);
    await assert.rejects(
      dist.whenApplied(current.epoch, current.version, AbortSignal.timeout(200)),
      (err) => {
        assert.ok(err instanceof NodesNotInSync);
        assert.equal(err.code, 'BERTH_NODES_BEHIND');
        assert.deepEqual([...err.nodes].sort(), ['gone-node', 'slow-node']);
        assert.match(
          err.message,
          /not every connected node serves v\d+ yet: .*slow-node \([0-9a-f]{8}, serving v0, v\d+ sent\)/,
        );
        return true;
      },
    );
    const waiting = dist.whenApplied(current.epoch, current.version, AbortSignal.timeout(5000));
    slow.ack(current);
    await gone.close();
    await waiting;
    await slow.close();
  });
});

describe('appliedState', () => {
  const view = (name: string, over: Partial<Parameters<typeof appliedState>[0][number]> = {}) => ({
    id: `${name}-id-0000`,
    name,
    address: '127.0.0.1:1',
    connected: true,
    connectedSince: null,
    lastSeen: '',
    appliedVersion: 3,
    appliedEpoch: 'e',
    appliedHash: null,
    pendingVersion: null,
    lastAck: null,
    lastNack: null,
    listeners: [],
    certificate: null,
    ...over,
  });

  it('ignores disconnected nodes, counts another epoch as behind, and an older NACK as no refusal', () => {
    assert.deepEqual(appliedState([view('a', { connected: false, appliedVersion: 1 })], 'e', 3), {
      state: 'done',
    });
    const other = appliedState([view('a', { appliedEpoch: 'x', appliedVersion: 9 })], 'e', 3);
    assert.equal(other.state, 'waiting');
    const oldNack = view('a', {
      appliedVersion: 2,
      lastNack: { version: 1, at: '', code: 'C', error: 'e' },
    });
    assert.equal(appliedState([oldNack], 'e', 3).state, 'waiting');
    const nack = view('a', { appliedVersion: 2, lastNack: { version: 4, at: '', code: 'C', error: 'e' } });
    assert.equal(appliedState([nack], 'e', 3).state, 'refused');
  });
});
