// Issue 13: a snapshot apply reuses what did not change, so one new route resets nothing elsewhere.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, describe, it } from 'node:test';
import type { HttpMiddleware } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { applyDelta, diffSnapshot } from '@berth/protocol';
import { middlewareFactories } from '../src/http/middlewares/index.js';
import { buildRuntime } from '../src/runtime/build-runtime.js';
import type { Runtime } from '../src/runtime/types.js';
import { call } from './support/client.js';
import { waitFor } from './support/log-capture.js';
import { applied, backendFor, Cleanups, planeFor, silent } from './support/plane.js';
import { body, service } from './support/snapshot.js';

const deps = { logger: silent, middlewares: middlewareFactories };

const copy = (b: SnapshotBody): SnapshotBody => JSON.parse(JSON.stringify(b)) as SnapshotBody;

const entry = (runtime: Runtime, router: string) =>
  runtime.routers.get('web')?.entries.find((e) => e.name === router);

function snapshotA(): SnapshotBody {
  const a = body(
    {
      api: { rule: 'Host(`api.test`)', service: 'api', middlewares: ['both'] },
      shop: { rule: 'Host(`shop.test`)', service: 'shop', middlewares: ['strip'] },
      split: { rule: 'Host(`split.test`)', service: 'split' },
    },
    {
      api: service('http://127.0.0.1:9001', 'http://127.0.0.1:9002'),
      shop: service('http://127.0.0.1:9003'),
      split: { weighted: { services: [{ name: 'api', weight: 1 }] } },
    },
  );
  a.http.middlewares = {
    strip: { stripPrefix: { prefixes: ['/shop'] } },
    tag: { headers: { customRequestHeaders: { 'x-tag': 'a' } } },
    both: { chain: { middlewares: ['strip', 'tag'] } },
  } as Record<string, HttpMiddleware>;
  return a;
}

/** A plus one router and its service. */
function withNewRoute(a: SnapshotBody): SnapshotBody {
  const b = copy(a);
  b.http.routers['blog'] = { rule: 'Host(`blog.test`)', service: 'blog' };
  b.http.services['blog'] = service('http://127.0.0.1:9004');
  return b;
}

describe('incremental runtime build', () => {
  for (const how of ['full snapshot (fresh objects)', 'delta (shared subtrees)'] as const) {
    it(`reuses unchanged services, balancers, middlewares and routers after a ${how}`, () => {
      const a = snapshotA();
      const first = buildRuntime(a, deps);
      assert.ok(first.ok);
      const b = how.startsWith('delta') ? applyDelta(a, diffSnapshot(a, withNewRoute(a))) : withNewRoute(a);
      if (how.startsWith('delta')) assert.equal(b.http.services['api'], a.http.services['api']);
      const second = buildRuntime(b, deps, first.memo);
      assert.ok(second.ok);
      const [r1, r2] = [first.runtime, second.runtime];
      for (const name of ['api', 'shop', 'split']) {
        assert.equal(r2.services.get(name), r1.services.get(name), `service ${name} reused`);
      }
      assert.equal(r2.services.get('api')?.balancer, r1.services.get('api')?.balancer);
      for (const name of ['api', 'shop', 'split']) {
        const e = entry(r2, name);
        assert.ok(e?.handler);
        assert.equal(e.handler, entry(r1, name)?.handler, `router ${name} reused with its middlewares`);
      }
      assert.ok(r2.services.get('blog'));
      assert.ok(entry(r2, 'blog'));
      assert.notEqual(r2.routers.get('web'), r1.routers.get('web'), 'a new router: a new table');
      const again = buildRuntime(copy(b), deps, second.memo);
      assert.ok(again.ok);
      assert.equal(again.runtime.routers.get('web'), r2.routers.get('web'), 'same routers: same table');
    });
  }

  it('rebuilds what changed and what depends on it, and nothing from a build with other deps', () => {
    const a = snapshotA();
    const first = buildRuntime(a, deps);
    assert.ok(first.ok);
    const b = copy(a);
    b.http.services['api'] = service('http://127.0.0.1:9001', 'http://127.0.0.1:9005');
    (b.http.middlewares as Record<string, HttpMiddleware>)['tag'] = {
      headers: { customRequestHeaders: { 'x-tag': 'b' } },
    };
    const second = buildRuntime(b, deps, first.memo);
    assert.ok(second.ok);
    const [r1, r2] = [first.runtime, second.runtime];
    assert.notEqual(r2.services.get('api'), r1.services.get('api'), 'changed service rebuilt');
    assert.deepEqual(
      r2.services.get('api')?.servers.map((s) => s.url.port),
      ['9001', '9005'],
    );
    // `split` is unchanged but names `api`: it must not keep the old one.
    assert.notEqual(
      r2.services.get('split'),
      r1.services.get('split'),
      'parent of a changed service rebuilt',
    );
    assert.equal(r2.services.get('shop'), r1.services.get('shop'));
    // `both` chains the changed `tag`: rebuilt; `shop` uses only `strip`: reused.
    assert.notEqual(entry(r2, 'api')?.handler, entry(r1, 'api')?.handler);
    assert.equal(entry(r2, 'shop')?.handler, entry(r1, 'shop')?.handler);

    const other = buildRuntime(a, { ...deps, random: () => 0.5 }, second.memo);
    assert.ok(other.ok);
    assert.notEqual(other.runtime.services.get('shop'), r2.services.get('shop'));
  });
});

describe('incremental apply on a data plane', () => {
  const cleanups = new Cleanups();
  after(() => cleanups.run());

  it('a server marked down by its health check stays down, and the rotation goes on, after an unrelated route is added', async () => {
    const healthy = new Map<string, boolean>([
      ['a', true],
      ['b', true],
    ]);
    const served = new Map<string, number>();
    const handler = (name: string) => (req: IncomingMessage, res: import('node:http').ServerResponse) => {
      req.resume();
      if (req.url === '/health') {
        res.writeHead(healthy.get(name) ? 200 : 503).end();
        return;
      }
      served.set(name, (served.get(name) ?? 0) + 1);
      res.end(name);
    };
    const a = await backendFor(cleanups, 'a', handler('a'));
    const b = await backendFor(cleanups, 'b', handler('b'));
    const c = await backendFor(cleanups, 'c', handler('c'));
    const d = await backendFor(cleanups, 'd', handler('d'));
    const checked = service(a.url, b.url);
    if (checked.loadBalancer)
      checked.loadBalancer.healthCheck = { path: '/health', interval: '100ms', timeout: '500ms' };
    const first = body(
      {
        api: { rule: 'Host(`api.test`)', service: 'api' },
        web: { rule: 'Host(`web.test`)', service: 'web' },
      },
      { api: checked, web: service(c.url, d.url) },
    );
    const plane = planeFor(cleanups);
    const port = await applied(plane, first);
    const target = (url: string) => ({ url: new URL(url), origin: new URL(url).origin, weight: 1 });

    // b fails its health check and goes down.
    healthy.set('b', false);
    await waitFor(() => !plane.health.isAvailable('api', target(b.url)), 'b marked down');
    // web's round robin has picked c; the next pick is d.
    assert.equal((await call(port, { host: 'web.test' })).body, 'c');

    const second = copy(first);
    second.http.routers['blog'] = { rule: 'Host(`blog.test`)', service: 'blog' };
    second.http.services['blog'] = service(c.url);
    await applied(plane, second);

    // Right after the apply: b is still down (no request reaches it), web's rotation carries on.
    assert.equal(plane.health.isAvailable('api', target(b.url)), false);
    const before = served.get('b') ?? 0;
    for (let i = 0; i < 6; i++) assert.equal((await call(port, { host: 'api.test' })).body, 'a');
    assert.equal(served.get('b') ?? 0, before, 'no request to the server marked down');
    assert.equal((await call(port, { host: 'web.test' })).body, 'd', 'balancer state kept');
    assert.equal((await call(port, { host: 'blog.test' })).body, 'c', 'the new route serves');
  });

  it('a delta applied with its ops serves as its body would, keeps health, and a refused one changes nothing', async () => {
    const healthy = new Map<string, boolean>([['b', true]]);
    const handler = (name: string) => (req: IncomingMessage, res: import('node:http').ServerResponse) => {
      req.resume();
      if (req.url === '/health') {
        res.writeHead(healthy.get(name) === false ? 503 : 200).end();
        return;
      }
      res.end(name);
    };
    const a = await backendFor(cleanups, 'a', handler('a'));
    const b = await backendFor(cleanups, 'b', handler('b'));
    const c = await backendFor(cleanups, 'c', handler('c'));
    const checked = service(a.url, b.url);
    if (checked.loadBalancer)
      checked.loadBalancer.healthCheck = { path: '/health', interval: '100ms', timeout: '500ms' };
    const first = body(
      {
        api: { rule: 'Host(`api.test`)', service: 'api' },
        web: { rule: 'Host(`web.test`)', service: 'web' },
      },
      { api: checked, web: service(c.url) },
    );
    const plane = planeFor(cleanups);
    const port = await applied(plane, first);
    const target = (url: string) => ({ url: new URL(url), origin: new URL(url).origin, weight: 1 });
    healthy.set('b', false);
    await waitFor(() => !plane.health.isAvailable('api', target(b.url)), 'b marked down');

    // A delta on the live body: a route added, one moved to another service, that service changed.
    const wanted = copy(first);
    wanted.http.routers['blog'] = { rule: 'Host(`blog.test`)', service: 'web' };
    wanted.http.routers['web'] = { rule: 'Host(`web.test`) || Host(`www.test`)', service: 'web' };
    wanted.http.services['web'] = service(a.url);
    const ops = diffSnapshot(first, wanted);
    const second = applyDelta(first, ops);
    const result = await plane.apply(second, undefined, { base: first, ops });
    assert.ok(result.ok);
    assert.equal(plane.health.isAvailable('api', target(b.url)), false, 'health kept');
    for (const host of ['blog.test', 'web.test', 'www.test'])
      assert.equal((await call(port, { host })).body, 'a', host);
    assert.equal((await call(port, { host: 'api.test' })).body, 'a');

    // Refused: a router naming no service. The node serves what it served.
    const badOps = [
      {
        op: 'set' as const,
        path: ['http', 'routers', 'web'],
        value: { rule: 'Host(`web.test`)', service: 'nope' },
      },
    ];
    const refused = await plane.apply(applyDelta(second, badOps), undefined, { base: second, ops: badOps });
    assert.equal(refused.ok, false);
    assert.equal((await call(port, { host: 'www.test' })).body, 'a');

    // A delta removing a route and its service, on the body still live.
    const third = copy(second);
    delete third.http.routers['api'];
    delete third.http.services['api'];
    const removeOps = diffSnapshot(second, third);
    const after3 = await plane.apply(applyDelta(second, removeOps), undefined, {
      base: second,
      ops: removeOps,
    });
    assert.ok(after3.ok);
    assert.equal((await call(port, { host: 'api.test' })).status, 404);
    assert.equal(plane.health.isAvailable('api', target(b.url)), true, 'its health forgotten');
    assert.equal((await call(port, { host: 'blog.test' })).body, 'a');
  });
});
