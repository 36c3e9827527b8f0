// Done when 6: a snapshot a node cannot apply is NACKed, shown by the API, and the node keeps the previous one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, startBackend, whoAnswers } from '../helpers/http.js';

interface ApiNode {
  name: string;
  appliedVersion: number;
  lastNack: { version: number; code: string; error: string } | null;
}

describe('a snapshot a node cannot apply', () => {
  let cluster: Cluster;
  let backend: Backend;

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic(
      'routes.yml',
      `http:\n  routers:\n    app:\n      rule: Host(\`app.test\`)\n      service: app\n      entryPoints: [web]\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: ${backend.url}\n`,
    );
    await cluster.startController();
    await cluster.startNode('node-1');
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it('is NACKed with the reason, visible in /api/v1/nodes, and the node keeps serving the previous one', async () => {
    const previous = await cluster.api<{ version: number }>('/api/v1/snapshot');
    // A new entry point on a host name that never resolves: the node cannot open it. (A port in
    // use is not refused but retried: bind-retry.test.ts.)
    await cluster.writeStatic(
      `entryPoints:\n  web:\n    address: "127.0.0.1:0"\n  admin:\n    address: "no-such-host.invalid:8080"\nproviders:\n  file:\n    directory: ./dynamic\n`,
    );
    const node = await eventually(
      async () => {
        const list = await cluster.api<ApiNode[]>('/api/v1/nodes');
        const n = list.find((x) => x.name === 'node-1');
        return n?.lastNack && n.lastNack.version > previous.version ? n : null;
      },
      10_000,
      () => cluster.logs(),
    );
    assert.equal(node.lastNack?.code, 'BERTH_PROXY_LISTEN');
    assert.match(
      node.lastNack?.error ?? '',
      /entry point "admin": cannot listen on no-such-host\.invalid:8080/,
    );
    assert.equal(node.appliedVersion, previous.version);
    const port = await cluster.webPort('node-1');
    assert.equal(await whoAnswers(port, 'app.test'), 'a');
    const status = await cluster.nodeStatus('node-1');
    assert.equal(status.appliedVersion, previous.version);
  });
});
