// Beyond Traefik: a router whose middleware cannot be built answers 503 naming the error on a real
// node, and its requests never reach the catch-all router below it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster } from '../helpers/cluster.js';
import { type Backend, get, startBackend, whoAnswers } from '../helpers/http.js';

interface ApiError {
  code: string;
  path: string;
  message: string;
  source?: { provider: string; origin: string; line?: number };
}

describe('a broken security middleware fails closed', () => {
  let cluster: Cluster;
  let a: Backend;
  let port: number;

  before(async () => {
    a = await startBackend('a');
    cluster = await Cluster.create();
    // `test:/`: what Compose leaves of `test:$apr1$...` when the `$` are not doubled.
    await cluster.writeDynamic(
      'app.yml',
      [
        'http:',
        '  routers:',
        '    catchall:',
        '      rule: PathPrefix(`/`)',
        '      priority: 1',
        '      service: app',
        '    admin:',
        '      rule: Host(`admin.test`)',
        '      service: app',
        '      middlewares: [auth]',
        '    ghost:',
        '      rule: Host(`ghost.test`)',
        '      service: app',
        '      middlewares: [nowhere]',
        '  middlewares:',
        '    auth:',
        '      basicAuth:',
        '        users:',
        '          - "test:/"',
        '  services:',
        '    app:',
        '      loadBalancer:',
        '        servers:',
        `          - url: ${a.url}`,
        '',
      ].join('\n'),
    );
    await cluster.startController();
    await cluster.startNode('node-1');
    port = await cluster.webPort('node-1');
  });

  after(async () => {
    await cluster?.close();
    await a?.close();
  });

  it('answers 503 with the code for a basicAuth whose user line no hash can match, and names the line', async () => {
    assert.equal(await whoAnswers(port, 'other.test'), 'a');
    const reply = await get(port, 'admin.test', '/secret');
    assert.equal(reply.status, 503);
    assert.match(reply.body, /BERTH_CONFIG_INVALID_HTPASSWD/);
    assert.equal(reply.headers['x-backend'], undefined, 'the catch-all backend never saw it');
    const errors = await cluster.api<ApiError[]>('/api/v1/errors');
    const user = errors.find((e) => e.code === 'BERTH_CONFIG_INVALID_HTPASSWD');
    assert.ok(user, JSON.stringify(errors));
    assert.match(user.message, /users\[0\].*'test'/);
    assert.equal(user.source?.line, 19);
    const routers =
      await cluster.api<{ name: string; status: string; failClosed?: boolean }[]>('/api/v1/routers');
    const admin = routers.find((r) => r.name === 'admin@file');
    assert.deepEqual([admin?.status, admin?.failClosed], ['disabled', true]);
  });

  it('answers 503 for a router naming a middleware that does not exist', async () => {
    const reply = await get(port, 'ghost.test');
    assert.equal(reply.status, 503);
    assert.match(reply.body, /BERTH_CONFIG_MIDDLEWARE_MISSING/);
    assert.equal(reply.headers['x-backend'], undefined);
  });
});
