// Versions in the snapshot store share the elements that did not change, and hash exactly as whole bodies do.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hashBody, SNAPSHOT_SCHEMA, type SnapshotBody } from '@berth/protocol';
import { SnapshotStore } from '../src/store/snapshot-store.js';

function bodyWith(hostOfLast: string, count = 50): SnapshotBody {
  const routers: SnapshotBody['http']['routers'] = {};
  const services: SnapshotBody['http']['services'] = {};
  for (let i = 0; i < count; i++) {
    const host = i === count - 1 ? hostOfLast : `r${i}.test`;
    routers[`r${i}@file`] = { rule: `Host(\`${host}\`)`, service: `s${i}@file`, entryPoints: ['web'] };
    services[`s${i}@file`] = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } };
  }
  return { schema: SNAPSHOT_SCHEMA, entryPoints: { web: { address: ':80' } }, http: { routers, services } };
}

describe('the snapshot store’s versions', () => {
  it('share unchanged elements with the previous version, hash as plain bodies, and are frozen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-store-sharing-'));
    try {
      const store = await SnapshotStore.open(dir);
      const first = await store.publish(bodyWith('a.test'));
      const second = await store.publish(bodyWith('b.test'));
      assert.equal(second.changed, true);
      const [a, b] = [first.snapshot.body, second.snapshot.body];
      assert.equal(a.http.routers['r0@file'], b.http.routers['r0@file']);
      assert.equal(a.http.services['s49@file'], b.http.services['s49@file']);
      assert.notEqual(a.http.routers['r49@file'], b.http.routers['r49@file']);
      assert.equal(b.http.routers['r49@file']?.rule, 'Host(`b.test`)');
      assert.equal(first.snapshot.hash, hashBody(bodyWith('a.test')));
      assert.equal(second.snapshot.hash, hashBody(bodyWith('b.test')));
      assert.ok(Object.isFrozen(b) && Object.isFrozen(b.http.routers['r49@file']));
      // The same content again is no new version.
      assert.equal((await store.publish(bodyWith('b.test'))).changed, false);
      // A restart reads back what was written.
      const reopened = await SnapshotStore.open(dir);
      assert.deepEqual(reopened.current?.body, bodyWith('b.test'));
      assert.equal(reopened.current?.hash, second.snapshot.hash);
      const older = await reopened.get(first.snapshot.version);
      assert.deepEqual(older?.body, bodyWith('a.test'));
      assert.equal(older?.body.http.routers['r0@file'], reopened.current?.body.http.routers['r0@file']);
      assert.deepEqual(reopened.warnings, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
