// Snapshots cannot be forged on disk: a node refuses a planted cache and waits for the controller's snapshot.
import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashBody, type Snapshot, type SnapshotBody } from '@berth/protocol';
import { Cluster, eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, freePort, get, startBackend, whoAnswers } from '../helpers/http.js';

/** The node's cache with its backend swapped for `evil` and its version raised: a valid hash, no valid signature. */
async function plantForgedCache(
  dataDir: string,
  from: string,
  to: string,
  signed: boolean,
): Promise<Snapshot> {
  const path = join(dataDir, 'snapshot.json');
  const genuine = JSON.parse(await readFile(path, 'utf8')) as Snapshot;
  const body = JSON.parse(JSON.stringify(genuine.body).replaceAll(from, to)) as SnapshotBody;
  const forged: Snapshot = { ...genuine, version: genuine.version + 100, hash: hashBody(body), body };
  // Signed: the genuine signature kept, which does not cover the new version and hash.
  if (!signed) delete forged.signature;
  await writeFile(path, JSON.stringify(forged), { mode: 0o600 });
  return forged;
}

describe('a snapshot planted in the node data dir', () => {
  let cluster: Cluster;
  let good: Backend;
  let evil: Backend;

  before(async () => {
    good = await startBackend('good');
    evil = await startBackend('evil');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml([good.url]));
    await cluster.startController();
    for (const name of ['unsigned', 'resigned']) {
      await cluster.startNode(name);
      await cluster.stopNode(name);
    }
  });

  after(async () => {
    await cluster?.close();
    await good?.close();
    await evil?.close();
  });

  it('is refused with the controller down, kept aside, and replaced once the controller answers', async () => {
    const nodesPort = cluster.controller?.nodesPort;
    await cluster.killController('SIGTERM');
    for (const [name, signed] of [
      ['unsigned', false],
      ['resigned', true],
    ] as const) {
      const dataDir = join(cluster.dir, name);
      await plantForgedCache(dataDir, good.url, evil.url, signed);
      const port = await freePort();
      const node = await cluster.startNode(name, {
        waitApplied: false,
        extraArgs: ['--entrypoint', `web=127.0.0.1:${port}`],
      });
      await eventually(
        () => node.child.output().includes('BERTH_SNAPSHOT_SIGNATURE'),
        20_000,
        () => cluster.logs(),
      );
      const line = node.child
        .output()
        .split('\n')
        .find((l) => l.includes('BERTH_SNAPSHOT_SIGNATURE'));
      assert.equal(JSON.parse(line ?? '{}').level, 50, 'logged at error level');
      await access(join(dataDir, 'snapshot.json.rejected'));
      // Nothing from the cache is served: no listener at all until the controller answers.
      await assert.rejects(get(port, 'app.test', '/', 1000));
      assert.doesNotMatch(node.child.output(), /serving the cached snapshot/);
    }

    await cluster.startController(nodesPort === undefined ? {} : { nodesPort });
    for (const name of ['unsigned', 'resigned']) {
      const status = await cluster.nodeStatus(name, (s) => s.appliedVersion > 0);
      assert.equal(status.fromCache, false);
      assert.equal(await whoAnswers(await cluster.webPort(name), 'app.test'), 'good');
      await cluster.stopNode(name);
    }
  });
});
