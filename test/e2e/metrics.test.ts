// A node's Prometheus endpoint: served in process, and gathered from every worker when the node runs several.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, freePort, startBackend, whoAnswers } from '../helpers/http.js';

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(String(res.headers.get('content-type')), /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** Sum of the samples of `name` whose line matches `filter`. */
function total(text: string, name: string, filter: RegExp): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && filter.test(l))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('node metrics', () => {
  let cluster: Cluster;
  let backend: Backend;

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml([backend.url]));
    await cluster.startController();
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it('counts requests by router and code on an in-process node', async () => {
    const metricsPort = await freePort();
    await cluster.startNode('solo', { extraArgs: ['--metrics', `127.0.0.1:${metricsPort}`] });
    const port = await cluster.webPort('solo');
    for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(port, 'app.test'), 'a');
    const text = await scrape(metricsPort);
    assert.equal(total(text, 'berth_requests_total', /router="app@file".*code="200"/), 5);
    assert.match(text, /^# TYPE berth_request_duration_seconds histogram$/m);
  });

  it('gathers every worker’s metrics, labelled by worker, so the node total is their sum', async () => {
    const metricsPort = await freePort();
    await cluster.startNode('multi', { workers: 2, extraArgs: ['--metrics', `127.0.0.1:${metricsPort}`] });
    const port = await cluster.webPort('multi');
    for (let i = 0; i < 20; i++) assert.equal(await whoAnswers(port, 'app.test'), 'a');
    const text = await eventually(async () => {
      const t = await scrape(metricsPort);
      return total(t, 'berth_requests_total', /router="app@file".*code="200"/) === 20 ? t : null;
    });
    assert.equal((text.match(/^# TYPE berth_requests_total counter$/gm) ?? []).length, 1);
    assert.match(text, /^berth_snapshot_version\{worker="1"\} \d+$/m);
    assert.match(text, /^berth_snapshot_version\{worker="2"\} \d+$/m);
    // The node's report to the controller adds its workers up too (reports every 5 s).
    const summary = await eventually(
      async () => {
        const nodes = await cluster.api<{ name: string; stats?: { requests: number } }[]>('/api/v1/nodes');
        const stats = nodes.find((n) => n.name === 'multi')?.stats;
        return stats && stats.requests >= 20 ? stats : null;
      },
      15_000,
      () => cluster.logs(),
    );
    assert.equal(summary.requests, 20);
  });
});
