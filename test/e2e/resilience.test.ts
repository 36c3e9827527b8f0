// Done when 3: nodes outlive the controller, restart from their cache, and converge when it returns.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, startBackend, whoAnswers } from '../helpers/http.js';

const routes = (hosts: string[], backend: Backend) => singleRouteYaml([backend.url], hosts);

describe('when the controller goes away', () => {
  let cluster: Cluster;
  let backend: Backend;

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', routes(['app.test'], backend));
    await cluster.startController();
    await Promise.all([cluster.startNode('node-1'), cluster.startNode('node-2')]);
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it('keeps serving on both nodes after the controller is killed with SIGKILL', async () => {
    const nodesPort = cluster.controller!.nodesPort;
    await cluster.killController('SIGKILL');
    // Past several heartbeats: the nodes have noticed, and must still serve.
    await new Promise((r) => setTimeout(r, 1500));
    for (const node of ['node-1', 'node-2']) {
      const port = await cluster.webPort(node);
      for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(port, 'app.test'), 'a');
    }
    assert.ok(nodesPort > 0);
  });

  it('serves from its cache a node restarted while the controller is down', async () => {
    const beforeRestart = await cluster.nodeStatus('node-2');
    await cluster.stopNode('node-2', 'SIGTERM');
    await cluster.startNode('node-2');
    const status = await cluster.nodeStatus('node-2', (s) => s.appliedVersion > 0);
    assert.equal(status.fromCache, true);
    assert.equal(status.appliedVersion, beforeRestart.appliedVersion);
    const port = await cluster.webPort('node-2');
    assert.equal(await whoAnswers(port, 'app.test'), 'a');
  });

  it('reconnects both nodes to the restarted controller and converges them on a new version', async () => {
    const nodesPort = cluster.controller!.nodesPort;
    await cluster.writeDynamic('routes.yml', routes(['app.test', 'new.test'], backend));
    await cluster.startController({ nodesPort });
    const snap = await cluster.api<{ version: number }>('/api/v1/snapshot');
    await eventually(
      async () => {
        const list =
          await cluster.api<{ name: string; appliedVersion: number; connected: boolean }[]>('/api/v1/nodes');
        return list.length === 2 && list.every((n) => n.connected && n.appliedVersion === snap.version);
      },
      15_000,
      () => cluster.logs(),
    );
    for (const node of ['node-1', 'node-2']) {
      const port = await cluster.webPort(node);
      assert.equal(await whoAnswers(port, 'new.test'), 'a');
      assert.equal(await whoAnswers(port, 'app.test'), 'a');
    }
  });

  it('sends a node that was away for several versions a delta from its version after a restart', async () => {
    const nodesPort = cluster.controller!.nodesPort;
    const away = await cluster.nodeStatus('node-2');
    await cluster.stopNode('node-2', 'SIGTERM');
    await cluster.writeDynamic('routes.yml', routes(['app.test', 'new.test', 'two.test'], backend));
    await cluster.nodeStatus('node-1', (s) => s.appliedVersion > away.appliedVersion);
    await cluster.killController('SIGKILL');
    // Changed again while the controller is down; node-2 comes back from its cache, two versions behind.
    await cluster.writeDynamic('routes.yml', routes(['app.test', 'new.test', 'three.test'], backend));
    await cluster.startController({ nodesPort });
    const snap = await cluster.api<{ version: number }>('/api/v1/snapshot');
    assert.ok(
      snap.version >= away.appliedVersion + 2,
      `v${snap.version} is two past v${away.appliedVersion}`,
    );
    await cluster.startNode('node-2');
    await cluster.nodeStatus('node-2', (s) => s.appliedVersion === snap.version);
    // The restarted controller kept its stored versions as bases for deltas.
    const output = cluster.nodes.get('node-2')?.child.output() ?? '';
    const applied = output
      .split('\n')
      .find((l) => l.includes('"applied snapshot"') && l.includes(`"version":${snap.version},`));
    assert.match(applied ?? '', /"kind":"delta"/, `node-2 got v${snap.version} as a delta:\n${output}`);
    assert.equal(await whoAnswers(await cluster.webPort('node-2'), 'three.test'), 'a');
  });
});
