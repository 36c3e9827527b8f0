// Routers to the services a node provides itself, from a file the controller compiles to nodes: a node
// with workers answers prometheus@internal with every worker's metrics, and api@internal with its
// own applied snapshot, secrets redacted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, get, startBackend, whoAnswers } from '../helpers/http.js';

const HASH = '$2y$05$abcdefghijklmnopqrstuu5Hh2Jq.Q9jJdQ1oX3M5r7K2Hq3y9n1y';

function yaml(backend: string): string {
  return `http:
  routers:
    app:
      rule: Host(\`app.test\`)
      service: app
    metrics:
      rule: Host(\`node.test\`) && PathPrefix(\`/metrics\`)
      service: prometheus@internal
    ping:
      rule: Host(\`node.test\`) && PathPrefix(\`/ping\`)
      service: ping@internal
    api:
      rule: Host(\`node.test\`) && (PathPrefix(\`/api\`) || PathPrefix(\`/dashboard\`))
      service: api@internal
    guarded:
      rule: Host(\`guarded.test\`)
      service: app
      middlewares: [auth]
  middlewares:
    auth:
      basicAuth:
        users:
          - "admin:${HASH}"
  services:
    app:
      loadBalancer:
        servers:
          - url: ${backend}
`;
}

describe('internal services through the controller and a node with workers', () => {
  let cluster: Cluster;
  let backend: Backend;
  let port: number;

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', yaml(backend.url));
    await cluster.startController();
    await cluster.startNode('multi', { workers: 2 });
    port = await cluster.webPort('multi');
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it('ping@internal answers OK', async () => {
    const reply = await get(port, 'node.test', '/ping');
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'OK');
  });

  it('prometheus@internal answers with the node view: every worker, labelled', async () => {
    for (let i = 0; i < 10; i++) assert.equal(await whoAnswers(port, 'app.test'), 'a');
    const text = await eventually(async () => {
      const reply = await get(port, 'node.test', '/metrics');
      return reply.status === 200 && /worker="2"/.test(reply.body) ? reply.body : null;
    });
    assert.match(text, /^berth_snapshot_version\{worker="1"\} \d+$/m);
    assert.match(text, /^berth_snapshot_version\{worker="2"\} \d+$/m);
    assert.equal((text.match(/^# TYPE berth_requests_total counter$/gm) ?? []).length, 1);
  });

  it('api@internal lists the routers the node applied, in Traefik’s shape, without the basicAuth hash', async () => {
    const reply = await get(port, 'node.test', '/api/http/routers');
    assert.equal(reply.status, 200);
    const routers = JSON.parse(reply.body) as { name: string; service: string; provider: string }[];
    assert.deepEqual(
      routers.map((r) => r.name),
      ['api@file', 'app@file', 'guarded@file', 'metrics@file', 'ping@file'],
    );
    assert.equal(routers.find((r) => r.name === 'metrics@file')?.service, 'prometheus@internal');
    assert.ok(routers.every((r) => r.provider === 'file'));
    for (const path of ['/api/rawdata', '/api/http/middlewares']) {
      const text = (await get(port, 'node.test', path)).body;
      assert.ok(text.includes('admin:[redacted]'), path);
      assert.ok(!text.includes(HASH), `${path} shows the hash`);
    }
    const page = await get(port, 'node.test', '/dashboard/');
    assert.equal(page.status, 200);
    assert.match(page.body, /Berth node/);
  });
});
