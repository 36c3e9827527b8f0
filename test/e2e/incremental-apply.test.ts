// Issue 13: adding an unrelated route does not reset active health: a server its health check took
// out stays out (not one request reaches it) right after the new version is applied, with and
// without worker processes.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, startBackend, whoAnswers } from '../helpers/http.js';

interface Sick {
  url: string;
  /** Requests other than health probes. */
  served: number;
  probes: number;
  close(): Promise<void>;
}

/** Fails every health probe (503 on /health); counts whatever else reaches it. */
async function startSick(): Promise<Sick> {
  const sick: Sick = { url: '', served: 0, probes: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url === '/health') {
      sick.probes++;
      res.writeHead(503).end();
      return;
    }
    sick.served++;
    res.writeHead(200, { 'x-backend': 'sick' }).end('backend=sick\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sick.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sick.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return sick;
}

function routesYaml(good: string, sick: string, other: string, extraRoutes: number): string {
  const extra = Array.from(
    { length: extraRoutes },
    (_v, i) => `    extra${i}:\n      rule: Host(\`extra${i}.test\`)\n      service: other`,
  );
  return `http:
  routers:
    api:
      rule: Host(\`api.test\`)
      service: api
${extra.join('\n')}${extra.length ? '\n' : ''}  services:
    api:
      loadBalancer:
        servers:
          - url: ${good}
          - url: ${sick}
        healthCheck:
          path: /health
          interval: 30s
          timeout: 1s
    other:
      loadBalancer:
        servers:
          - url: ${other}
`;
}

for (const workers of [0, 2]) {
  describe(`incremental apply on a node (workers: ${workers})`, () => {
    let cluster: Cluster;
    let good: Backend;
    let other: Backend;
    let sick: Sick;

    before(async () => {
      good = await startBackend('good');
      other = await startBackend('other');
      sick = await startSick();
      cluster = await Cluster.create();
      await cluster.writeDynamic('routes.yml', routesYaml(good.url, sick.url, other.url, 0));
      await cluster.startController();
      await cluster.startNode('node-1', { workers });
    });

    after(async () => {
      await cluster?.close();
      await Promise.all([good?.close(), other?.close(), sick?.close()]);
    });

    it('keeps a server its health check took out down after an unrelated route is added', async () => {
      const node = cluster.nodes.get('node-1');
      assert.ok(node);
      const downLines = (): number =>
        node.child
          .output()
          .split('\n')
          .filter((l) => l.includes('server failed its health check')).length;
      // Every process that serves (the node, or each worker) probed it and took it out.
      await eventually(
        () => downLines() >= Math.max(1, workers),
        15_000,
        () => cluster.logs(),
      );
      const port = await cluster.webPort('node-1');
      for (let i = 0; i < 6; i++) assert.equal(await whoAnswers(port, 'api.test'), 'good');
      const probes = sick.probes;

      for (let extra = 1; extra <= 2; extra++) {
        const before = await cluster.api<{ version: number }>('/api/v1/snapshot');
        await cluster.writeDynamic('routes.yml', routesYaml(good.url, sick.url, other.url, extra));
        const published = await eventually(
          async () => {
            const s = await cluster.api<{ version: number }>('/api/v1/snapshot');
            return s.version > before.version ? s : null;
          },
          10_000,
          () => cluster.logs(),
        );
        await cluster.nodeStatus(
          'node-1',
          (s) =>
            s.appliedVersion >= published.version &&
            (s.workers ?? []).every((w) => w.appliedVersion >= published.version),
          15_000,
        );
        // At once: a health state reset would make the sick server available until its next probe (30 s).
        for (let i = 0; i < 10; i++) assert.equal(await whoAnswers(port, 'api.test'), 'good');
        assert.equal(await whoAnswers(port, `extra${extra - 1}.test`), 'other');
      }
      assert.equal(sick.served, 0, 'no request reached the server marked down');
      assert.equal(
        sick.probes,
        probes,
        'its checker was not restarted (no new probe before the 30 s interval)',
      );
      assert.equal(downLines(), Math.max(1, workers), 'taken out once per serving process');
    });
  });
}
