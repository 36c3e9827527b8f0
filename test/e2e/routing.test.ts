// Done when 1 and 2: two nodes route by Host to real backends, round robin, and follow edits of the YAML file.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, get, startBackend, whoAnswers } from '../helpers/http.js';

const routes = (servers: Backend[], extra = '') => `http:
  routers:
    app:
      rule: Host(\`app.test\`)
      service: app
${extra}
  services:
    app:
      loadBalancer:
        servers:
${servers.map((s) => `          - url: ${s.url}`).join('\n')}
`;

describe('a controller with two proxy nodes', () => {
  let cluster: Cluster;
  let a: Backend;
  let b: Backend;
  let c: Backend;

  before(async () => {
    [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', routes([a, b]));
    await cluster.startController();
    await Promise.all([cluster.startNode('node-1'), cluster.startNode('node-2')]);
  });

  after(async () => {
    await cluster?.close();
    await Promise.all([a?.close(), b?.close(), c?.close()]);
  });

  it('routes Host() requests to both backends in turn through each node', async () => {
    for (const node of ['node-1', 'node-2']) {
      const port = await cluster.webPort(node);
      const answers: string[] = [];
      for (let i = 0; i < 10; i++) answers.push(await whoAnswers(port, 'app.test'));
      assert.equal(answers.filter((x) => x === 'a').length, 5, `${node}: ${answers.join(',')}`);
      assert.equal(answers.filter((x) => x === 'b').length, 5, `${node}: ${answers.join(',')}`);
      for (let i = 1; i < answers.length; i++)
        assert.notEqual(answers[i], answers[i - 1], 'strict alternation');
      const miss = await get(port, 'other.test');
      assert.equal(miss.status, 404);
    }
  });

  it('sets X-Forwarded-* headers for the backend', async () => {
    const port = await cluster.webPort('node-1');
    await get(port, 'app.test', '/x');
    const h = (a.lastHeaders ?? b.lastHeaders)!;
    assert.equal(h['x-forwarded-host'], 'app.test');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.match(String(h['x-forwarded-for']), /127\.0\.0\.1/);
  });

  it('brings an edit of the YAML file to both nodes, and the API shows both at the new version', async () => {
    const before = await cluster.api<{ version: number }>('/api/v1/snapshot');
    await cluster.writeDynamic(
      'routes.yml',
      routes(
        [a, b],
        '    beta:\n      rule: Host(`beta.test`) && PathPrefix(`/b`)\n      service: beta\n',
      ).replace(
        '  services:\n',
        `  services:\n    beta:\n      loadBalancer:\n        servers:\n          - url: ${c.url}\n`,
      ),
    );
    const snap = await eventually(
      async () => {
        const s = await cluster.api<{ version: number }>('/api/v1/snapshot');
        return s.version > before.version ? s : null;
      },
      10_000,
      () => cluster.logs(),
    );
    const nodes = await eventually(
      async () => {
        const list =
          await cluster.api<{ name: string; appliedVersion: number; connected: boolean }[]>('/api/v1/nodes');
        return list.length === 2 && list.every((n) => n.connected && n.appliedVersion === snap.version)
          ? list
          : null;
      },
      10_000,
      () => cluster.logs(),
    );
    assert.deepEqual(nodes.map((n) => n.name).sort(), ['node-1', 'node-2']);
    for (const node of ['node-1', 'node-2']) {
      const port = await cluster.webPort(node);
      assert.equal(await whoAnswers(port, 'beta.test', '/b/1'), 'c');
      assert.equal((await get(port, 'beta.test', '/other')).status, 404);
    }
  });
});
