// A node's /healthz through real processes: starting until it applies a snapshot, then ok with the version and where it came from.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, freePort, startBackend, whoAnswers } from '../helpers/http.js';

interface Health {
  status: number;
  body: { status: string; version?: number; source?: string };
}

async function healthz(port: number): Promise<Health> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: (await res.json()) as Health['body'] };
}

describe('node health', () => {
  let cluster: Cluster;
  let backend: Backend;
  let metricsPort: number;

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml([backend.url]));
    metricsPort = await freePort();
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it('answers 503 starting while the node has applied nothing, then 200 with the version from the controller', async () => {
    // The controller stops before the node first starts: the node has no snapshot and no cache.
    const { nodesPort } = await cluster.startController();
    await cluster.killController('SIGTERM');
    await cluster.startNode('edge', {
      waitApplied: false,
      extraArgs: ['--metrics', `127.0.0.1:${metricsPort}`],
    });
    const starting = await eventually(
      () => healthz(metricsPort).catch(() => null),
      20_000,
      () => cluster.logs(),
    );
    assert.deepEqual(starting, { status: 503, body: { status: 'starting' } });

    await cluster.startController({ nodesPort });
    const { version } = await cluster.api<{ version: number }>('/api/v1/snapshot');
    const ok = await eventually(
      async () => {
        const h = await healthz(metricsPort);
        return h.status === 200 ? h : null;
      },
      20_000,
      () => cluster.logs(),
    );
    assert.deepEqual(ok.body, { status: 'ok', version, source: 'controller' });
    assert.equal(await whoAnswers(await cluster.webPort('edge'), 'app.test'), 'a');
  });

  it('answers 200 with source cache when it restarts from its cache while no controller answers', async () => {
    const { version } = await cluster.api<{ version: number }>('/api/v1/snapshot');
    await cluster.stopNode('edge');
    await cluster.killController('SIGTERM');
    await cluster.startNode('edge', {
      waitApplied: false,
      extraArgs: ['--metrics', `127.0.0.1:${metricsPort}`],
    });
    // The metrics server starts after the cache is applied: its first answer is already ok.
    const first = await eventually(
      () => healthz(metricsPort).catch(() => null),
      20_000,
      () => cluster.logs(),
    );
    assert.deepEqual(first, { status: 200, body: { status: 'ok', version, source: 'cache' } });
  });
});
