// Issue 13: a node that applies deltas gets each edit as the changes from the version it ACKed,
// serves them, and gets the full snapshot only when it lagged more versions than the controller
// keeps (in memory or in its store).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, startBackend, whoAnswers } from '../helpers/http.js';

/**
 * Versions the controller can make deltas from: the distributor keeps 16 in memory, and reads
 * older ones back from its store, which keeps 20 (`DEFAULT_HISTORY`).
 */
const KEPT = 20;

/** `count` routes r0..r{count-1} plus `extra` routes named e0.., all to one backend. */
function routesYaml(backend: string, count: number, extra: number): string {
  const routers: string[] = [];
  for (let i = 0; i < count; i++)
    routers.push(`    r${i}:\n      rule: Host(\`r${i}.test\`)\n      service: app`);
  for (let i = 0; i < extra; i++)
    routers.push(`    e${i}:\n      rule: Host(\`e${i}.test\`)\n      service: app`);
  return `http:\n  routers:\n${routers.join('\n')}\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: ${backend}\n`;
}

/** The node's 'applied snapshot' log lines, from its current process. */
function appliedLines(
  cluster: Cluster,
  name: string,
): { version: number; kind: string; fromCache?: boolean }[] {
  const out = cluster.nodes.get(name)?.child.output() ?? '';
  return out
    .split('\n')
    .filter((l) => l.includes('"applied snapshot"'))
    .map((l) => JSON.parse(l) as { version: number; kind: string });
}

describe('snapshot deltas between a controller and a node', () => {
  let cluster: Cluster;
  let backend: Backend;
  let extra = 0;

  /** Adds one route and waits for the controller to publish it; returns the new version. */
  const addRoute = async (): Promise<number> => {
    const before = await cluster.api<{ version: number }>('/api/v1/snapshot');
    extra++;
    await cluster.writeDynamic('routes.yml', routesYaml(backend.url, 200, extra));
    const published = await eventually(
      async () => {
        const s = await cluster.api<{ version: number }>('/api/v1/snapshot');
        return s.version > before.version ? s : null;
      },
      10_000,
      () => cluster.logs(),
    );
    return published.version;
  };

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', routesYaml(backend.url, 200, 0));
    await cluster.startController();
    await cluster.startNode('node-1');
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it('sends each file edit as a delta, and the node serves the new route', async () => {
    const port = await cluster.webPort('node-1');
    for (let i = 0; i < 4; i++) {
      const version = await addRoute();
      await cluster.nodeStatus('node-1', (s) => s.appliedVersion >= version, 10_000);
      assert.equal(await whoAnswers(port, `e${extra - 1}.test`), 'a');
    }
    const lines = appliedLines(cluster, 'node-1');
    assert.equal(lines[0]?.kind, 'full', 'the first snapshot of a fresh node is full');
    assert.ok(
      lines.filter((l) => l.kind === 'delta').length >= 4,
      `every edit came as a delta: ${JSON.stringify(lines)}`,
    );
    // The controller sees the same: its ACK lines say how each version went.
    const acks = (cluster.controller?.child.output() ?? '')
      .split('\n')
      .filter((l) => l.includes('"node applied snapshot"'))
      .map((l) => (JSON.parse(l) as { kind: string }).kind);
    assert.ok(acks.filter((k) => k === 'delta').length >= 4, JSON.stringify(acks));
  });

  it('gives a node back after a few versions a delta, and after more than it keeps the full snapshot', async () => {
    // A short absence: the version it serves is still kept.
    await cluster.stopNode('node-1');
    const soon = await addRoute();
    await cluster.startNode('node-1');
    await cluster.nodeStatus('node-1', (s) => s.appliedVersion >= soon && !s.fromCache, 15_000);
    assert.deepEqual(
      appliedLines(cluster, 'node-1').map((l) => l.kind),
      ['delta'],
      'back after one version: a delta on the cached snapshot',
    );

    // A longer one, past the 16 versions in the distributor's memory: the store has its version.
    await cluster.stopNode('node-1');
    let back = 0;
    for (let i = 0; i < 17; i++) back = await addRoute();
    await cluster.startNode('node-1');
    await cluster.nodeStatus('node-1', (s) => s.appliedVersion >= back && !s.fromCache, 15_000);
    assert.deepEqual(
      appliedLines(cluster, 'node-1').map((l) => l.kind),
      ['delta'],
      'back after 17 versions: a delta from the stored version',
    );

    // A long one: more versions than the controller keeps.
    await cluster.stopNode('node-1');
    let last = 0;
    for (let i = 0; i <= KEPT; i++) last = await addRoute();
    await cluster.startNode('node-1');
    await cluster.nodeStatus('node-1', (s) => s.appliedVersion >= last && !s.fromCache, 15_000);
    assert.deepEqual(
      appliedLines(cluster, 'node-1').map((l) => l.kind),
      ['full'],
    );
    const port = await cluster.webPort('node-1');
    assert.equal(await whoAnswers(port, `e${extra - 1}.test`), 'a');
  });
});
