// Issue 13: a node that stops reading never slows the others, and never gets more than one push in
// flight: when it reads again it gets the one in flight, then the newest version, nothing between.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Snapshot } from '@berth/protocol';
import type { Distributor } from '../src/distributor/distributor.js';
import { startTestDistributor, type TestDistributor, until } from './support/distributor-harness.js';
import { FakeNode, snap } from './support/fake-node.js';

/** Routes per version: full frames of a few hundred KiB, so a node that stops reading fills its buffers. */
const ROUTES = 5000;

describe('a stalled node', () => {
  let t: TestDistributor;
  let dist: Distributor;
  let version = 0;
  const publish = (): Snapshot => {
    const s = snap(++version, 'e1', ROUTES);
    dist.publish(s);
    return s;
  };
  const view = (name: string) => dist.list().find((n) => n.name === name);

  before(async () => {
    t = await startTestDistributor(60_000);
    dist = t.dist;
  });

  after(() => t.close());

  it('holds one push in flight for it while every other node gets every version; it then gets only the newest', async () => {
    // Full snapshots for both (no deltas): the big frames are what would pile up.
    const healthy = await FakeNode.connect(t, 'healthy', { deltas: false });
    const stalled = await FakeNode.connect(t, 'stalled', { deltas: false });
    const v1 = publish();
    await until(
      () => healthy.pushes().length === 1 && stalled.pushes().length === 1,
      'v1 at both nodes',
      10_000,
    );
    healthy.ack(v1);
    stalled.ack(v1);
    await until(() => view('stalled')?.appliedVersion === 1, 'the stalled node applying v1');

    // The stalled node stops reading its socket: the controller's writes to it back up.
    const socket = (stalled.ws as unknown as { _socket: Socket })._socket;
    socket.pause();

    const published: Snapshot[] = [];
    for (let i = 0; i < 20; i++) {
      const s = publish();
      published.push(s);
      // The healthy node applies each version as it comes (it may be handed the newest after a burst).
      await until(
        () => healthy.received.some((m) => m.type === 'snapshot' && m.snapshot.version === s.version),
        `v${s.version} at the healthy node`,
        10_000,
      );
      healthy.ack(s);
      await until(
        () => view('healthy')?.appliedVersion === s.version,
        `the healthy node applying v${s.version}`,
        10_000,
      );
    }
    const last = published.at(-1) as Snapshot;
    assert.equal(view('healthy')?.appliedVersion, last.version);
    assert.deepEqual(
      healthy.pushes(),
      [v1, ...published].map((s) => `full ${s.version}`),
      'the healthy node got every version, in order, while the other one read nothing',
    );
    // One push in flight for the stalled node: the first version after it stopped reading.
    assert.equal(view('stalled')?.pendingVersion, 2);
    assert.equal(view('stalled')?.appliedVersion, 1);

    // It reads again: the push in flight arrives, and after its ACK the newest version, nothing between.
    socket.resume();
    await until(() => stalled.pushes().length === 2, 'the push in flight at the stalled node', 10_000);
    assert.deepEqual(stalled.pushes(), ['full 1', 'full 2']);
    stalled.ack(published[0] as Snapshot);
    await until(() => stalled.pushes().length === 3, 'the newest version at the stalled node', 10_000);
    assert.deepEqual(stalled.pushes(), ['full 1', 'full 2', `full ${last.version}`]);
    stalled.ack(last);
    await until(() => view('stalled')?.appliedVersion === last.version, 'the stalled node catching up');
    await healthy.close();
    await stalled.close();
  });
});
