// Scaling nodes down through real processes: a node stopped with SIGTERM leaves the node list at once; a killed one stays listed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, startBackend } from '../helpers/http.js';

interface ListedNode {
  id: string;
  name: string;
  connected: boolean;
}

describe('nodes leaving', () => {
  let cluster: Cluster;
  let backend: Backend;
  const nodes = () => cluster.api<ListedNode[]>('/api/v1/nodes');

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml([backend.url]));
    // Far from the test's waits: only a leave can drop a node from the list here.
    await cluster.startController({ extraArgs: ['--node-expiry-ms', '600000'] });
    await cluster.startNode('edge-1');
    await cluster.startNode('edge-2');
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it('lists only the other node right after one is stopped with SIGTERM', async () => {
    const before = await nodes();
    assert.deepEqual(
      before.map((n) => [n.name, n.connected]),
      [
        ['edge-1', true],
        ['edge-2', true],
      ],
    );
    const stopped = performance.now();
    await cluster.stopNode('edge-2', 'SIGTERM');
    // The node waits for the controller to take its leave before it exits.
    const list = await nodes();
    console.log(`# SIGTERM → node exited and unlisted: ${Math.round(performance.now() - stopped)} ms`);
    assert.deepEqual(
      list.map((n) => n.name),
      ['edge-1'],
    );
    const id = before.find((n) => n.name === 'edge-2')?.id;
    assert.match(cluster.controller!.child.output(), new RegExp(`"nodeId":"${id}".*"msg":"node left"`));
    assert.match(cluster.nodes.get('edge-2')!.child.output(), /"msg":"left the controller"/);
  });

  it('leaves the same way when it serves with worker processes', async () => {
    await cluster.startNode('edge-w', { workers: 2 });
    assert.ok((await nodes()).some((n) => n.name === 'edge-w' && n.connected));
    await cluster.stopNode('edge-w', 'SIGTERM');
    assert.deepEqual(
      (await nodes()).map((n) => n.name),
      ['edge-1'],
      cluster.logs(),
    );
  });

  it('lets the node that left rejoin with its identity', async () => {
    const id = (await nodes()).find((n) => n.name === 'edge-1')?.id;
    await cluster.startNode('edge-2');
    const list = await eventually(
      async () => {
        const l = await nodes();
        return l.length === 2 && l.every((n) => n.connected) ? l : null;
      },
      10_000,
      () => cluster.logs(),
    );
    assert.equal(list.find((n) => n.name === 'edge-1')?.id, id);
    assert.doesNotMatch(cluster.nodes.get('edge-2')!.child.output(), /enrolled with the controller/);
  });

  it('keeps a node killed with SIGKILL listed, as disconnected', async () => {
    await cluster.stopNode('edge-2', 'SIGKILL');
    const list = await eventually(
      async () => {
        const l = await nodes();
        return l.find((n) => n.name === 'edge-2')?.connected === false ? l : null;
      },
      10_000,
      () => cluster.logs(),
    );
    assert.deepEqual(
      list.map((n) => [n.name, n.connected]),
      [
        ['edge-1', true],
        ['edge-2', false],
      ],
    );
  });
});
