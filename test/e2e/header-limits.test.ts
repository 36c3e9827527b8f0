// http.maxHeaderCount through the whole system: set in the controller's berth.yaml, carried by the snapshot, applied by a real node.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, startBackend } from '../helpers/http.js';

/** A GET with `count` header lines in all (Host included). */
function getWith(port: number, count: number): Promise<number> {
  const headers: Record<string, string> = { host: 'app.test' };
  for (let i = 1; i < count; i++) headers[`h${i}`] = 'x';
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('http.maxHeaderCount from the controller’s static configuration', () => {
  let cluster: Cluster;
  let app: Backend;
  let port: number;

  before(async () => {
    app = await startBackend('app');
    cluster = await Cluster.create();
    await cluster.writeDynamic(
      'app.yml',
      `http:
  routers:
    app:
      rule: Host(\`app.test\`)
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: ${app.url}
`,
    );
    await cluster.startController({
      staticYaml: `entryPoints:
  web:
    address: "127.0.0.1:0"
    http:
      maxHeaderCount: 12
providers:
  file:
    directory: ./dynamic
`,
    });
    await cluster.startNode('node-1');
    port = await cluster.webPort('node-1');
  });

  after(async () => {
    await cluster?.close();
    await app?.close();
  });

  it('answers a request with more header lines 431 on the node, and serves one within it', async () => {
    // node:http adds `Connection: close` to a request without an agent: 11 + 1 lines.
    await eventually(async () => (await getWith(port, 11)) === 200);
    const before = app.hits;
    assert.equal(await getWith(port, 12), 431);
    assert.equal(await getWith(port, 40), 431);
    assert.equal(app.hits, before, 'nothing over the limit reached the server');
  });
});
