// Open exchanges per router: removal closes them after the grace, a returning router keeps them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RouteConnections } from '../src/http/route-connections.js';

function conn(): { destroyed: boolean; destroy(): void } {
  return {
    destroyed: false,
    destroy() {
      this.destroyed = true;
    },
  };
}

describe('route connections', () => {
  it('count what is open per router and forget what was deleted', () => {
    const rc = new RouteConnections();
    const a = conn();
    const b = conn();
    rc.add('r', a);
    rc.add('r', b);
    rc.add('s', conn());
    assert.equal(rc.count('r'), 2);
    rc.delete('r', a);
    assert.equal(rc.count('r'), 1);
    assert.equal(rc.count('none'), 0);
  });

  it('close a removed router’s connections only once the grace is over', async () => {
    const rc = new RouteConnections();
    const kept = conn();
    const removed = conn();
    rc.add('kept', kept);
    rc.add('gone', removed);
    rc.retire((router) => router === 'kept', 40);
    await sleep(10);
    assert.equal(removed.destroyed, false);
    await sleep(80);
    assert.equal(removed.destroyed, true);
    assert.equal(kept.destroyed, false);
    assert.equal(rc.count('gone'), 0);
  });

  it('spare a router that is back by the time the grace ends', async () => {
    const rc = new RouteConnections();
    const c = conn();
    rc.add('r', c);
    let exists = false;
    rc.retire(() => exists, 30);
    exists = true;
    await sleep(60);
    assert.equal(c.destroyed, false);
    rc.closeAll();
    assert.equal(c.destroyed, true);
  });
});
