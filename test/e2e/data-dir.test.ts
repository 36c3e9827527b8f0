// The node's data dir: nobody but the node's user may write it.
import assert from 'node:assert/strict';
import { chmod, stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Cluster, singleRouteYaml } from '../helpers/cluster.js';

describe('the node data dir', () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml(['http://127.0.0.1:9']));
    await cluster.startController();
  });

  after(() => cluster?.close());

  it('is set to 0700, with a warning, when group or others can write it', async () => {
    const node = await cluster.startNode('node-1');
    await cluster.stopNode('node-1');
    await chmod(node.dataDir, 0o777);
    const again = await cluster.startNode('node-1');
    assert.equal((await stat(again.dataDir)).mode & 0o777, 0o700);
    assert.match(again.child.output(), /BERTH_PROXY_DATA_DIR_UNSAFE/);
  });
});
