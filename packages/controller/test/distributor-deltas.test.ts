import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyDelta, encodeMessage, hashBody, type Snapshot } from '@berth/protocol';
import type { Distributor } from '../src/distributor/distributor.js';
import { startTestDistributor, type TestDistributor, until } from './support/distributor-harness.js';
import { FakeNode, snap } from './support/fake-node.js';

describe('the distributor with deltas', () => {
  let t: TestDistributor;
  let dist: Distributor;
  let version = 0;
  const history: Snapshot[] = [];
  const publish = (): Snapshot => {
    const s = snap(++version);
    history[version] = s;
    dist.publish(s);
    return s;
  };

  before(async () => {
    t = await startTestDistributor(200, { deltaHistory: 3 });
    dist = t.dist;
  });

  after(() => t.close());

  it('sends a fresh node the full snapshot, then each version as a delta from the one it ACKed', async () => {
    const node = await FakeNode.connect(t, 'delta-1');
    const v1 = publish();
    await until(() => node.pushes().length === 1);
    node.ack(v1);
    await until(() => dist.list().find((n) => n.name === 'delta-1')?.appliedVersion === 1);
    const v2 = publish();
    await until(() => node.pushes().length === 2);
    assert.deepEqual(node.pushes(), ['full 1', 'delta 1→2']);
    const delta = node.received[1];
    assert.ok(delta?.type === 'delta');
    // r1 goes back, r2 changes.
    assert.deepEqual(
      delta.ops.map((op) => op.path.join('.')),
      ['http.routers.r1.rule', 'http.routers.r2.rule'],
    );
    assert.equal(hashBody(applyDelta(v1.body, delta.ops)), v2.hash);
    assert.deepEqual(delta.signature, v2.signature);
    assert.ok(
      (node.frames[1]?.length ?? 0) < (node.frames[0]?.length ?? 0) / 4,
      'far smaller than the full frame',
    );
    node.ack(v2);
    await until(() => dist.list().find((n) => n.name === 'delta-1')?.appliedVersion === 2);
    await node.close();
  });

  it('sends full snapshots to a node that does not say it applies deltas', async () => {
    const node = await FakeNode.connect(t, 'old-node', { deltas: false });
    await until(() => node.pushes().length === 1);
    node.ack(history[version] as Snapshot);
    await until(() => dist.list().find((n) => n.name === 'old-node')?.appliedVersion === version);
    const next = publish();
    await until(() => node.pushes().length === 2);
    assert.deepEqual(node.pushes(), [`full ${version - 1}`, `full ${version}`]);
    node.ack(next);
    await node.close();
  });

  it('encodes a delta once and sends the same bytes to every node on that base', async () => {
    const base = history[version] as Snapshot;
    const a = await FakeNode.connect(t, 'same-a', { applied: base });
    const b = await FakeNode.connect(t, 'same-b', { applied: base });
    publish();
    await until(() => a.pushes().length === 1 && b.pushes().length === 1);
    // A node that names a kept version in its hello gets the delta from it.
    assert.deepEqual(a.pushes(), [`delta ${version - 1}→${version}`]);
    assert.deepEqual(a.frames[0], b.frames[0]);
    await a.close();
    await b.close();
  });

  it('answers a resync with the same version in full, and takes the ACK of it', async () => {
    const base = history[version] as Snapshot;
    const node = await FakeNode.connect(t, 'resync', { applied: base });
    const next = publish();
    await until(() => node.pushes().length === 1);
    node.ws.send(
      encodeMessage({
        type: 'resync',
        epoch: next.epoch,
        version: next.version,
        code: 'BERTH_PROTOCOL_HASH_MISMATCH',
        reason: 'the result does not match its hash',
      }),
    );
    await until(() => node.pushes().length === 2);
    assert.deepEqual(node.pushes(), [`delta ${base.version}→${next.version}`, `full ${next.version}`]);
    node.ack(next);
    await until(() => dist.list().find((n) => n.name === 'resync')?.appliedVersion === next.version);
    // After the full snapshot, deltas again.
    const after = publish();
    await until(() => node.pushes().length === 3);
    assert.equal(node.pushes()[2], `delta ${next.version}→${after.version}`);
    await node.close();
  });

  it('sends the full snapshot to a node whose base is no longer kept, or of another epoch, or another body', async () => {
    const old = history[version - 3] as Snapshot; // deltaHistory 3: versions-2..version are kept
    const lagging = await FakeNode.connect(t, 'lagging', { applied: old });
    const otherEpoch = await FakeNode.connect(t, 'other-epoch', { applied: snap(version, 'e0') });
    const forked = await FakeNode.connect(t, 'forked', {
      applied: { ...(history[version] as Snapshot), hash: 'f'.repeat(64) },
    });
    const kept = await FakeNode.connect(t, 'kept', { applied: history[version - 2] as Snapshot });
    for (const n of [lagging, otherEpoch, forked, kept]) await until(() => n.pushes().length === 1);
    assert.deepEqual(
      [lagging, otherEpoch, forked, kept].map((n) => n.pushes()[0]),
      [`full ${version}`, `full ${version}`, `full ${version}`, `delta ${version - 2}→${version}`],
    );
    for (const n of [lagging, otherEpoch, forked, kept]) await n.close();
  });

  it('never resends a delta version the node refused, in any form', async () => {
    const base = history[version] as Snapshot;
    const node = await FakeNode.connect(t, 'refuser', { applied: base });
    const next = publish();
    await until(() => node.pushes().length === 1);
    node.ws.send(
      encodeMessage({
        type: 'nack',
        epoch: next.epoch,
        version: next.version,
        code: 'BERTH_PROXY_LISTEN',
        error: 'busy',
      }),
    );
    await until(() => dist.list().find((n) => n.name === 'refuser')?.lastNack !== null);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(node.pushes(), [`delta ${base.version}→${next.version}`]);
    const after = publish();
    await until(() => node.pushes().length === 2);
    // Still on its base: the next version comes as a delta from it.
    assert.equal(node.pushes()[1], `delta ${base.version}→${after.version}`);
    await node.close();
  });

  it('starts over in full when the epoch changes', async () => {
    const node = await FakeNode.connect(t, 'epoch', { applied: history[version] as Snapshot });
    const fresh = snap(1, 'e2');
    dist.publish(fresh);
    await until(() => node.pushes().length === 1);
    assert.deepEqual(node.pushes(), ['full 1']);
    node.ack(fresh);
    await until(() => dist.list().find((n) => n.name === 'epoch')?.appliedEpoch === 'e2');
    const next = { ...snap(2, 'e2') };
    dist.publish(next);
    await until(() => node.pushes().length === 2);
    assert.equal(node.pushes()[1], 'delta 1→2');
    await node.close();
  });

  it('after a restart, reads a stored version a node serves once, and sends the delta from it', async () => {
    const stored = [1, 2, 3, 4].map((v) => snap(v, 'e9'));
    const reads: number[] = [];
    const restarted = await startTestDistributor(200, {
      deltaHistory: 3,
      loadBase: async (v) => {
        reads.push(v);
        // Another epoch's version, or a hole in the store, is no base.
        return v === 1 ? snap(1, 'e8') : v === 3 ? undefined : stored[v - 1];
      },
    });
    try {
      const current = stored[3] as Snapshot;
      restarted.dist.publish(current);
      const nodes = await Promise.all(
        [1, 2, 2, 3].map((v, i) =>
          FakeNode.connect(restarted, `on-${v}-${i}`, { applied: stored[v - 1] as Snapshot }),
        ),
      );
      await until(() => nodes.every((n) => n.pushes().length === 1));
      assert.deepEqual(
        nodes.map((n) => n.pushes()[0]),
        ['full 4', 'delta 2→4', 'delta 2→4', 'full 4'],
      );
      assert.deepEqual([...reads].sort(), [1, 2, 3], 'each version read once');
      const delta = nodes[1]?.received[0];
      assert.ok(delta?.type === 'delta');
      assert.equal(hashBody(applyDelta((stored[1] as Snapshot).body, delta.ops)), current.hash);
      for (const n of nodes) await n.close();
    } finally {
      await restarted.close();
    }
  });
});
