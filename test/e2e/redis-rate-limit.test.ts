// rateLimit.redis across a fleet: three real nodes with two workers each hold one 100 req/s limit through a real redis-server.
import assert from 'node:assert/strict';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisServer, redisSkipReason } from '@berth/proxy/test-support/redis-server';
import { Cluster, eventually } from '../helpers/cluster.js';

const skip = redisSkipReason();
const NODES = ['node-1', 'node-2', 'node-3'];

function routes(backend: string, redis: string): string {
  return `http:
  routers:
    app:
      rule: Host(\`app.test\`)
      service: app
      middlewares: [limit]
  middlewares:
    limit:
      rateLimit:
        average: 100
        burst: 10
        redis:
          endpoints: ["${redis}"]
          dialTimeout: 200ms
          readTimeout: 150ms
          writeTimeout: 50ms
  services:
    app:
      loadBalancer:
        servers:
          - url: ${backend}
`;
}

function get(port: number, agent: Agent, timeoutMs = 3000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, headers: { host: 'app.test' }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

describe('rateLimit.redis on three nodes with two workers each', { skip: skip ?? false }, () => {
  let cluster: Cluster;
  let redis: RedisServer;
  let backend: ReturnType<typeof createServer>;
  const agents: Agent[] = [];
  let ports: number[] = [];
  /** When each request the limit let through reached the backend. */
  const arrivals: number[] = [];

  before(async () => {
    redis = await RedisServer.start();
    backend = createServer((req, res) => {
      arrivals.push(performance.now());
      req.resume();
      res.end('ok');
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', routes(backendUrl, redis.endpoint));
    await cluster.startController();
    for (const name of NODES) await cluster.startNode(name, { workers: 2 });
    for (const name of NODES)
      await cluster.nodeStatus(
        name,
        (s) => (s.workers ?? []).length === 2 && (s.workers ?? []).every((w) => w.state === 'serving'),
      );
    ports = await Promise.all(NODES.map((n) => cluster.webPort(n)));
  });

  after(async () => {
    for (const a of agents) a.destroy();
    await cluster?.close();
    await redis?.close();
    await new Promise<void>((r) => (backend ? backend.close(() => r()) : r()));
  });

  it('passes 100 req/s (plus the burst) within 10% while 200 req/s arrive spread over every worker', async () => {
    // Several keep-alive connections per node, so the kernel spreads them over both workers.
    const nodeAgents = ports.map(() => new Agent({ keepAlive: true, maxSockets: 8 }));
    agents.push(...nodeAgents);
    // Warm up: connections open, workers and their Redis pools ready; then the bucket refills.
    await Promise.all(ports.flatMap((port, i) => Array.from({ length: 8 }, () => get(port, nodeAgents[i]!))));
    await sleep(500);
    arrivals.length = 0;
    const answers: Promise<number>[] = [];
    const perNode = ports.map(() => 0);
    const start = performance.now();
    // Every 15 ms one request to each node: 200 req/s offered, twice the limit, for 3 s.
    for (let tick = 0; tick < 200; tick++) {
      for (const [i, port] of ports.entries()) {
        answers.push(
          get(port, nodeAgents[i]!).then((s) => {
            if (s === 200) perNode[i]!++;
            return s;
          }),
        );
      }
      await sleep(Math.max(0, start + (tick + 1) * 15 - performance.now()));
    }
    const statuses = await Promise.all(answers);
    const counts: Record<number, number> = {};
    for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
    assert.deepEqual(
      Object.keys(counts).sort(),
      ['200', '429'],
      `only 200 and 429: ${JSON.stringify(counts)}`,
    );
    // Measured where the limit shows, at the backend: the burst, then 100/s for as long as requests came.
    const span = (arrivals.at(-1)! - arrivals[0]!) / 1000;
    const passed = arrivals.length;
    const expected = 10 + 100 * span;
    const perQuarter: number[] = [];
    for (const t of arrivals) {
      const q = Math.floor((t - arrivals[0]!) / 250);
      perQuarter[q] = (perQuarter[q] ?? 0) + 1;
    }
    assert.equal(passed, counts[200]);
    assert.ok(
      Math.abs(passed - expected) <= expected * 0.1,
      `${passed} passed over ${span.toFixed(2)} s (per 250 ms: ${JSON.stringify(perQuarter)}); a shared 100 req/s limit passes about ${Math.round(expected)}`,
    );
    assert.ok(span > 2, `requests reached the backend for ${span.toFixed(2)} s only`);
    for (const [i, n] of perNode.entries()) assert.ok(n > 0, `node ${NODES[i]} passed none`);
  });

  it('answers 500 within the deadlines while Redis is down, logs it with its code, and limits again once it is back', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    agents.push(agent);
    await redis.stop();
    const start = performance.now();
    const statuses = await Promise.all(ports.flatMap((port) => [0, 1, 2, 3].map(() => get(port, agent))));
    assert.ok(performance.now() - start < 2000, 'no request waits on a Redis that is gone');
    assert.deepEqual(new Set(statuses), new Set([500]));
    await eventually(
      () => cluster.logs().includes('BERTH_PROXY_RATELIMIT_REDIS'),
      5000,
      () => cluster.logs(),
    );
    await redis.resume();
    await eventually(async () => (await get(ports[0]!, agent)) === 200, 10_000);
  });
});
