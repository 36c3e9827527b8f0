// Tests for the durable snapshot store: versioning, persistence across reopen, bounds, modes, corruption.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { hashBody, SNAPSHOT_SCHEMA, type SnapshotBody, verifySnapshot } from '@berth/protocol';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import { SnapshotStore } from '../src/store/snapshot-store.js';

function body(n: number): SnapshotBody {
  return {
    schema: SNAPSHOT_SCHEMA,
    entryPoints: { web: { address: ':80' } },
    http: {
      routers: { r: { rule: `Host(\`h${n}.test\`)`, service: 's', entryPoints: ['web'] } },
      services: { s: { loadBalancer: { servers: [{ url: 'http://10.0.0.1:80' }] } } },
    },
  };
}

describe('SnapshotStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts empty with a fresh epoch', async () => {
    const store = await SnapshotStore.open(dir);
    assert.equal(store.current, null);
    assert.equal(store.version, 0);
    assert.equal(store.newEpoch, true);
    assert.deepEqual(store.warnings, []);
    assert.match(store.epoch, /^[0-9a-f-]{36}$/);
    assert.deepEqual(store.history(), []);
  });

  it('increments the version only when the body changes', async () => {
    const store = await SnapshotStore.open(dir);
    const first = await store.publish(body(1));
    assert.equal(first.changed, true);
    assert.equal(first.snapshot.version, 1);
    assert.equal(first.snapshot.hash, hashBody(body(1)));
    assert.equal(first.snapshot.epoch, store.epoch);
    assert.ok(verifySnapshot(first.snapshot));

    const same = await store.publish(body(1));
    assert.equal(same.changed, false);
    assert.equal(same.snapshot.version, 1);

    const second = await store.publish(body(2));
    assert.equal(second.changed, true);
    assert.equal(second.snapshot.version, 2);
    assert.equal((await store.get(1))?.hash, hashBody(body(1)));
    assert.deepEqual(
      store.history().map((h) => h.version),
      [2, 1],
    );
  });

  it('serializes concurrent publishes', async () => {
    const store = await SnapshotStore.open(dir);
    const results = await Promise.all([
      store.publish(body(1)),
      store.publish(body(1)),
      store.publish(body(2)),
    ]);
    assert.deepEqual(
      results.map((r) => [r.snapshot.version, r.changed]),
      [
        [1, true],
        [1, false],
        [2, true],
      ],
    );
  });

  it('restores epoch, version and current snapshot after a reopen', async () => {
    const store = await SnapshotStore.open(dir);
    await store.publish(body(1));
    await store.publish(body(2));
    const again = await SnapshotStore.open(dir);
    assert.equal(again.newEpoch, false);
    assert.deepEqual(again.warnings, []);
    assert.equal(again.epoch, store.epoch);
    assert.equal(again.version, 2);
    assert.deepEqual(again.current, store.current);
    assert.equal((await again.publish(body(2))).changed, false);
    const next = await again.publish(body(3));
    assert.equal(next.snapshot.version, 3);
  });

  it('keeps a bounded history on disk and in memory', async () => {
    const store = await SnapshotStore.open(dir);
    for (let i = 1; i <= 25; i++) await store.publish(body(i));
    const history = store.history();
    assert.equal(history.length, 20);
    assert.equal(history[0]?.version, 25);
    assert.equal(history.at(-1)?.version, 6);
    assert.equal(await store.get(5), undefined);
    const files = (await readdir(join(dir, 'snapshots'))).filter((f) => /^\d+\.json$/.test(f));
    assert.equal(files.length, 20);
    const again = await SnapshotStore.open(dir);
    assert.equal(again.history().length, 20);
    assert.equal(again.version, 25);
  });

  it('writes files readable by the owner only', async () => {
    const store = await SnapshotStore.open(dir);
    await store.publish(body(1));
    const snapDir = join(dir, 'snapshots');
    const names = await readdir(snapDir);
    assert.ok(names.includes('state.json'));
    for (const name of names) {
      const mode = (await stat(join(snapDir, name))).mode & 0o777;
      assert.equal(mode, 0o600, `${name} has mode ${mode.toString(8)}`);
    }
  });

  it('starts a new epoch without going backwards when the state file is corrupt', async () => {
    const store = await SnapshotStore.open(dir);
    await store.publish(body(1));
    await store.publish(body(2));
    await writeFile(join(dir, 'snapshots', 'state.json'), '{"format":1,"epo');
    const again = await SnapshotStore.open(dir);
    assert.equal(again.newEpoch, true);
    assert.notEqual(again.epoch, store.epoch);
    assert.equal(again.warnings[0]?.code, ErrorCodes.STORE_CORRUPT);
    assert.equal(again.current, null);
    const next = await again.publish(body(1));
    assert.equal(next.changed, true);
    assert.equal(next.snapshot.version, 3);
    assert.equal(next.snapshot.epoch, again.epoch);
    // The new epoch is itself persisted.
    const third = await SnapshotStore.open(dir);
    assert.equal(third.epoch, again.epoch);
    assert.equal(third.version, 3);
    assert.deepEqual(third.warnings, []);
  });

  it('survives a corrupt current snapshot file', async () => {
    const store = await SnapshotStore.open(dir);
    await store.publish(body(1));
    await writeFile(join(dir, 'snapshots', '000000000001.json'), 'not json');
    const again = await SnapshotStore.open(dir);
    assert.equal(again.epoch, store.epoch);
    assert.equal(again.current, null);
    assert.ok(again.warnings.some((w) => w.code === ErrorCodes.STORE_SNAPSHOT_INVALID));
    assert.equal((await again.publish(body(1))).snapshot.version, 2);
  });

  it('reads older versions only when asked for, after a reopen', async () => {
    const store = await SnapshotStore.open(dir);
    for (let i = 1; i <= 3; i++) await store.publish(body(i));
    // Damaged after the fact: a reopen does not read it until someone asks for version 1.
    await writeFile(
      join(dir, 'snapshots', '000000000001.json'),
      (await readFile(join(dir, 'snapshots', '000000000001.json'), 'utf8')).replace('h1.test', 'hX.test'),
    );
    const again = await SnapshotStore.open(dir);
    assert.equal(again.warnings.length, 0);
    assert.deepEqual(again.history(), store.history());
    const second = await again.get(2);
    assert.deepEqual(second?.body, body(2));
    assert.equal(second?.hash, hashBody(body(2)));
    assert.ok(second && verifySnapshot(second));
    // Read again on each ask, not kept: only the current version stays in memory.
    assert.deepEqual(await again.get(2), second);
    // Shared with the current version where equal, and frozen like a published one.
    assert.equal(second?.body.http.services.s, again.current?.body.http.services.s);
    assert.ok(second && Object.isFrozen(second.body.http.routers.r));
    // The damaged one is refused when read, leaves the history and is reported.
    assert.equal(await again.get(1), undefined);
    assert.deepEqual(
      again.history().map((h) => h.version),
      [3, 2],
    );
    assert.equal(again.warnings[0]?.code, ErrorCodes.STORE_SNAPSHOT_INVALID);
    // Publishing on top of a lazily known history keeps counting and pruning.
    assert.equal((await again.publish(body(4))).snapshot.version, 4);
    assert.deepEqual(
      again.history().map((h) => h.version),
      [4, 3, 2],
    );
  });

  it('keeps a copy of each new element, not the caller’s object', async () => {
    const store = await SnapshotStore.open(dir);
    // Strings sliced out of a bigger text, as a parser's are: the stored copy is equal, not the same object.
    const text = `${'#'.repeat(10_000)}Host(\`h.test\`)`;
    const input = body(1);
    const router = { rule: text.slice(10_000), service: 's', entryPoints: ['web'] };
    input.http.routers.r = router;
    const { snapshot } = await store.publish(input);
    const stored = snapshot.body.http.routers.r;
    assert.notEqual(stored, router);
    assert.deepEqual(stored, router);
    assert.ok(Object.isFrozen(stored));
    assert.equal(snapshot.hash, hashBody(input));
    // An unchanged element of the next version is the stored one, whatever object the caller passes.
    const next = body(1);
    next.http.routers.r = { ...router };
    next.http.routers.other = { rule: 'Host(`o.test`)', service: 's', entryPoints: ['web'] };
    const second = await store.publish(next);
    assert.equal(second.snapshot.body.http.routers.r, stored);
  });

  it('opens files in the older layout (any JSON of the envelope) and checks their hash', async () => {
    const store = await SnapshotStore.open(dir);
    await store.publish(body(1));
    const current = await store.publish(body(2));
    // As earlier versions wrote them: pretty-printed, the body in the compiler's key order.
    for (const version of [1, 2]) {
      const file = join(dir, 'snapshots', `00000000000${version}.json`);
      const snap = JSON.parse(await readFile(file, 'utf8'));
      await writeFile(file, `${JSON.stringify({ ...snap, body: body(version) }, null, 2)}\n`);
    }
    const again = await SnapshotStore.open(dir);
    assert.equal(again.warnings.length, 0);
    assert.deepEqual(again.current, current.snapshot);
    assert.deepEqual((await again.get(1))?.body, body(1));
    assert.equal((await again.publish(body(2))).changed, false);
  });
});
