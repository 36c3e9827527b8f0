// The HTTP data plane through the whole system: YAML on the controller, applied by a real node, served to real clients.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, get, startBackend, whoAnswers } from '../helpers/http.js';

/** alice:secret as an htpasswd {SHA} line. */
const ALICE = `alice:{SHA}${createHash('sha1').update('secret').digest('base64')}`;

function send(
  port: number,
  opts: { host: string; path?: string; method?: string; headers?: Record<string, string> },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: { host: opts.host, ...opts.headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the HTTP data plane, configured through the controller', () => {
  let cluster: Cluster;
  let a: Backend;
  let b: Backend;
  let canary: Backend;
  let port: number;

  before(async () => {
    [a, b, canary] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('canary')]);
    cluster = await Cluster.create();
    await cluster.writeDynamic(
      'features.yml',
      `http:
  routers:
    api:
      rule: HostRegexp(\`^[a-z]+\\.api\\.test$\`) && Method(\`GET\`) && PathPrefix(\`/v1\`)
      service: app
      middlewares: [strip-v1, tag]
    admin:
      rule: Host(\`admin.test\`)
      service: app
      middlewares: [auth]
    beta:
      rule: Host(\`app.test\`) && Header(\`X-Beta\`, \`1\`)
      service: split
    dead:
      rule: Host(\`dead.test\`)
      service: nowhere
    local-only:
      rule: Host(\`local.test\`) && ClientIP(\`10.0.0.0/8\`)
      service: app
  middlewares:
    strip-v1:
      stripPrefix:
        prefixes: [/v1]
    tag:
      headers:
        customResponseHeaders:
          X-Served-By: berth
    auth:
      basicAuth:
        users: ["${ALICE}"]
  services:
    app:
      loadBalancer:
        servers:
          - url: ${a.url}
    split:
      weighted:
        services:
          - name: app
            weight: 3
          - name: canary-svc
            weight: 1
    canary-svc:
      loadBalancer:
        servers:
          - url: ${canary.url}
    nowhere:
      loadBalancer:
        healthCheck:
          path: /health
          interval: 100ms
          timeout: 100ms
        servers:
          - url: http://127.0.0.1:1
`,
    );
    await cluster.startController();
    await cluster.startNode('node-1');
    port = await cluster.webPort('node-1');
  });

  after(async () => {
    await cluster?.close();
    await Promise.all([a?.close(), b?.close(), canary?.close()]);
  });

  it('routes by HostRegexp, Method and PathPrefix, strips the prefix and adds a response header', async () => {
    const res = await send(port, { host: 'eu.api.test', path: '/v1/users?x=1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-backend'], 'a');
    assert.equal(res.body.trim(), 'backend=a path=/users?x=1');
    assert.equal(res.headers['x-served-by'], 'berth');
    assert.equal((await send(port, { host: 'eu.api.test', path: '/v1/users', method: 'POST' })).status, 404);
    assert.equal((await send(port, { host: 'api.test', path: '/v1/users' })).status, 404);
  });

  it('asks for credentials with basicAuth and lets the right ones through', async () => {
    const none = await send(port, { host: 'admin.test' });
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /^Basic realm=/);
    const wrong = await send(port, {
      host: 'admin.test',
      headers: { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` },
    });
    assert.equal(wrong.status, 401);
    const right = await send(port, {
      host: 'admin.test',
      headers: { authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` },
    });
    assert.equal(right.status, 200);
  });

  it('splits a weighted service 3:1 between the stable and the canary backend', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 40; i++) {
      seen.push(
        String((await send(port, { host: 'app.test', headers: { 'x-beta': '1' } })).headers['x-backend']),
      );
    }
    assert.equal(seen.filter((s) => s === 'a').length, 30, seen.join(','));
    assert.equal(seen.filter((s) => s === 'canary').length, 10, seen.join(','));
    assert.equal((await get(port, 'app.test')).status, 404, 'without the header no router matches');
  });

  it('answers 503, not 404, when every server of a service is down', async () => {
    const res = await eventually(async () => {
      const r = await get(port, 'dead.test');
      return r.status === 503 ? r : null;
    });
    assert.equal(res.status, 503);
  });

  it('matches ClientIP against the client address', async () => {
    assert.equal((await get(port, 'local.test')).status, 404, '127.0.0.1 is not in 10.0.0.0/8');
  });

  it('reports every middleware and its users through the API', async () => {
    const list =
      await cluster.api<{ name: string; type: string; usedBy: string[]; status: string }[]>(
        '/api/v1/middlewares',
      );
    const auth = list.find((m) => m.name === 'auth@file');
    assert.equal(auth?.type, 'basicAuth');
    assert.deepEqual(auth?.usedBy, ['admin@file']);
    assert.equal(auth?.status, 'enabled');
    assert.equal(await whoAnswers(port, 'eu.api.test', '/v1/x'), 'a');
  });
});
