// A node serving a higher version than its controller's (same epoch) is brought back to the controller's snapshot.
import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cluster, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, startBackend, whoAnswers } from '../helpers/http.js';

describe('a node ahead of its controller', () => {
  let cluster: Cluster;
  let one: Backend;
  let two: Backend;

  before(async () => {
    one = await startBackend('one');
    two = await startBackend('two');
    cluster = await Cluster.create();
  });

  after(async () => {
    await cluster?.close();
    await one?.close();
    await two?.close();
  });

  it("applies the controller's snapshot even with a higher version of the same epoch (a restored controller)", async () => {
    await cluster.writeDynamic('routes.yml', singleRouteYaml([one.url]));
    const controllerDir = join(cluster.dir, 'controller');
    const backupDir = join(cluster.dir, 'controller-backup');
    const { nodesPort } = await cluster.startController();
    await cluster.startNode('node-1');
    await cluster.killController('SIGTERM');
    // The controller's state at v1, restored below as from a backup.
    await cp(controllerDir, backupDir, { recursive: true });
    await cluster.startController({ nodesPort });
    await cluster.writeDynamic('routes.yml', singleRouteYaml([two.url]));
    const ahead = await cluster.nodeStatus('node-1', (s) => s.appliedVersion > 1);
    assert.equal(await whoAnswers(await cluster.webPort('node-1'), 'app.test'), 'two');

    await cluster.killController('SIGTERM');
    await rm(controllerDir, { recursive: true, force: true });
    await cp(backupDir, controllerDir, { recursive: true });
    await cluster.writeDynamic('routes.yml', singleRouteYaml([one.url]));
    await cluster.startController({ nodesPort });
    const status = await cluster.nodeStatus(
      'node-1',
      (s) => s.appliedEpoch === ahead.appliedEpoch && s.appliedVersion < ahead.appliedVersion,
    );
    assert.equal(status.fromCache, false);
    assert.equal(await whoAnswers(await cluster.webPort('node-1'), 'app.test'), 'one');
    assert.match(cluster.logs(), /applying the controller's/);
  });
});
