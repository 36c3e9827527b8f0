// Middleware chains assembled by the runtime build: order, sharing, references, and failures that disable routers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpMiddleware, HttpRouter } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import type { Middleware, MiddlewareFactory } from '../src/http/context.js';
import { MiddlewareConfigError } from '../src/http/context.js';
import type { RuntimeDeps } from '../src/runtime/build-runtime.js';
import { buildRuntime } from '../src/runtime/build-runtime.js';
import type { MiddlewareFactories } from '../src/runtime/middleware-registry.js';
import type { Runtime } from '../src/runtime/types.js';
import { fakeContext, standInForward } from './support/context.js';
import { body, service } from './support/snapshot.js';

/**
 * A tiny local registry standing in for the real one: `headers` appends its name to a trace
 * header on the way in; `addPrefix` refuses a prefix without a leading slash; `chain` resolves
 * its members through the build context. Counts how often each factory ran.
 */
function registry(): { factories: MiddlewareFactories; builds: string[] } {
  const builds: string[] = [];
  const trace =
    (name: string): Middleware =>
    (next) =>
    async (ctx) => {
      ctx.upstreamHeaders['x-trace'] = `${ctx.upstreamHeaders['x-trace'] ?? ''}${name};`;
      await next(ctx);
    };
  const headers: MiddlewareFactory<'headers'> = (_config, ctx) => {
    builds.push(ctx.name);
    return trace(ctx.name);
  };
  const addPrefix: MiddlewareFactory<'addPrefix'> = (config, ctx) => {
    builds.push(ctx.name);
    if (!config.prefix.startsWith('/'))
      throw new MiddlewareConfigError(`prefix "${config.prefix}" must start with /`);
    return trace(ctx.name);
  };
  const chain: MiddlewareFactory<'chain'> = (config, ctx) => {
    builds.push(ctx.name);
    const members = config.middlewares.map((name) => ctx.resolve(name));
    return (next) => members.reduceRight((handler, mw) => mw(handler), next);
  };
  return { factories: { headers, addPrefix, chain } as MiddlewareFactories, builds };
}

function snapshot(
  routers: Record<string, HttpRouter>,
  middlewares: Record<string, HttpMiddleware>,
  epMiddlewares: string[] = [],
): SnapshotBody {
  const b = body(routers, { s: service('http://127.0.0.1:9') }, { web: ':80', admin: ':81' });
  b.http.middlewares = middlewares;
  b.entryPoints['web']!.http = { middlewares: epMiddlewares };
  return b;
}

function build(b: SnapshotBody, deps: Partial<RuntimeDeps>): Runtime {
  const result = buildRuntime(b, deps);
  if (!result.ok) assert.fail(result.error);
  return result.runtime;
}

/** The status and body a router answers itself (a failed-closed one), or undefined when it forwards. */
async function answer(runtime: Runtime, ep: string, path: string): Promise<[number, string] | undefined> {
  const { ctx, answers } = fakeContext();
  ctx.view.path = path;
  const router = runtime.routers.get(ep)?.find(ctx.view);
  if (!router?.handler) return undefined;
  await router.handler(ctx);
  const first = answers[0];
  return first === undefined ? undefined : [first.status, String(first.body)];
}

async function trace(runtime: Runtime, ep: string, path: string): Promise<string | undefined> {
  const { ctx } = fakeContext();
  ctx.view.path = path;
  const router = runtime.routers.get(ep)?.find(ctx.view);
  if (!router?.handler) return undefined;
  await router.handler(ctx);
  return ctx.upstreamHeaders['x-trace'] ?? '';
}

describe('middleware chains in the runtime', () => {
  it('runs entry point middlewares first, then the router’s in order, then the service', async () => {
    const { factories } = registry();
    const stand = standInForward();
    const runtime = build(
      snapshot(
        { r: { rule: 'PathPrefix(`/`)', service: 's', middlewares: ['one', 'two@file'] } },
        { ep: { headers: {} }, one: { headers: {} }, two: { headers: {} } },
        ['ep'],
      ),
      { forward: stand.forward, middlewares: factories },
    );
    assert.equal(await trace(runtime, 'web', '/'), 'ep;one;two;');
    // The admin entry point has no middlewares of its own.
    assert.equal(await trace(runtime, 'admin', '/'), 'one;two;');
    assert.equal(stand.targets.length, 2);
  });

  it('builds each middleware once per snapshot, shared by every router and chain using it', async () => {
    const { factories, builds } = registry();
    const runtime = build(
      snapshot(
        {
          a: { rule: 'PathPrefix(`/a`)', service: 's', middlewares: ['shared', 'both'] },
          b: { rule: 'PathPrefix(`/b`)', service: 's', middlewares: ['both', 'shared'] },
        },
        {
          shared: { headers: {} },
          both: { chain: { middlewares: ['shared', 'inner'] } },
          inner: { headers: {} },
        },
      ),
      { forward: standInForward().forward, middlewares: factories },
    );
    assert.deepEqual([...builds].sort(), ['both', 'inner', 'shared']);
    assert.equal(await trace(runtime, 'web', '/a'), 'shared;shared;inner;');
    assert.equal(await trace(runtime, 'web', '/b'), 'shared;inner;shared;');
  });

  it('closes only the routers using a middleware that fails to configure (503 naming the code), and reports why', async () => {
    const { factories } = registry();
    const runtime = build(
      snapshot(
        {
          broken: { rule: 'PathPrefix(`/broken`)', service: 's', middlewares: ['bad'] },
          viaChain: { rule: 'PathPrefix(`/chain`)', service: 's', middlewares: ['wrapper'] },
          fine: { rule: 'PathPrefix(`/`)', service: 's', middlewares: ['ok'] },
          unsupported: { rule: 'PathPrefix(`/u`)', service: 's', middlewares: ['limit'] },
          missing: { rule: 'PathPrefix(`/m`)', service: 's', middlewares: ['ghost'] },
          loop: { rule: 'PathPrefix(`/loop`)', service: 's', middlewares: ['c1'] },
        },
        {
          bad: { addPrefix: { prefix: 'no-slash' } },
          wrapper: { chain: { middlewares: ['ok', 'bad'] } },
          ok: { headers: {} },
          limit: { rateLimit: { average: 1 } },
          c1: { chain: { middlewares: ['c2'] } },
          c2: { chain: { middlewares: ['c1'] } },
        },
      ),
      { forward: standInForward().forward, middlewares: factories },
    );
    const problems = [...runtime.problems]
      .filter((p) => p.router !== 'x')
      .sort((x, y) => (x.router < y.router ? -1 : 1));
    assert.deepEqual(
      problems.map(({ router, middleware, code }) => ({ router, middleware, code })),
      [
        { router: 'broken', middleware: 'bad', code: 'BERTH_PROXY_MIDDLEWARE_CONFIG' },
        { router: 'loop', middleware: 'c1', code: 'BERTH_PROXY_MIDDLEWARE_CYCLE' },
        { router: 'missing', middleware: 'ghost', code: 'BERTH_PROXY_MIDDLEWARE_MISSING' },
        { router: 'unsupported', middleware: 'limit', code: 'BERTH_PROXY_MIDDLEWARE_UNSUPPORTED' },
        { router: 'viaChain', middleware: 'wrapper', code: 'BERTH_PROXY_MIDDLEWARE_CONFIG' },
      ],
    );
    assert.match(problems[0]!.error, /prefix "no-slash" must start with \//);
    assert.match(problems[4]!.error, /wrapper.*bad/);
    // They stay in the table and answer 503: their requests never fall through to `fine`.
    assert.deepEqual(
      runtime.routers
        .get('web')
        ?.entries.map((e) => e.name)
        .sort(),
      ['broken', 'fine', 'loop', 'missing', 'unsupported', 'viaChain'],
    );
    const [status, text] = (await answer(runtime, 'web', '/broken')) ?? [];
    assert.equal(status, 503);
    assert.match(text ?? '', /BERTH_PROXY_MIDDLEWARE_CONFIG/);
    assert.equal(await trace(runtime, 'web', '/other'), 'ok;');
  });

  it('answers 503 for a router the compiler marked failClosed, without looking up its service', async () => {
    const runtime = build(
      snapshot(
        {
          closed: {
            rule: 'PathPrefix(`/admin`)',
            service: 'nowhere',
            failClosed: { code: 'BERTH_CONFIG_INVALID_HTPASSWD', message: 'users[0] has no hash' },
          },
          open: { rule: 'PathPrefix(`/`)', service: 's' },
        },
        {},
      ),
      { forward: standInForward().forward },
    );
    assert.deepEqual(runtime.problems, []);
    const [status, text] = (await answer(runtime, 'web', '/admin/x')) ?? [];
    assert.equal(status, 503);
    assert.match(text ?? '', /BERTH_CONFIG_INVALID_HTPASSWD/);
    assert.doesNotMatch(text ?? '', /hash/);
  });

  it('closes a router only on the entry point whose middlewares fail', async () => {
    const { factories } = registry();
    const runtime = build(
      snapshot({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { epBad: { addPrefix: { prefix: 'x' } } }, [
        'epBad',
      ]),
      { forward: standInForward().forward, middlewares: factories },
    );
    assert.deepEqual(
      runtime.routers.get('web')?.entries.map((e) => e.name),
      ['r'],
    );
    assert.equal((await answer(runtime, 'web', '/'))?.[0], 503);
    assert.equal((await answer(runtime, 'admin', '/'))?.[0], 200); // forwarded
    assert.deepEqual(
      runtime.problems.map((p) => [p.router, p.middleware]),
      [['r', 'epBad']],
    );
  });

  it('reports chains nested beyond the limit instead of exhausting the stack', () => {
    const { factories } = registry();
    const middlewares: Record<string, HttpMiddleware> = { c100: { headers: {} } };
    for (let i = 0; i < 100; i++) middlewares[`c${i}`] = { chain: { middlewares: [`c${i + 1}`] } };
    const runtime = build(
      snapshot({ r: { rule: 'PathPrefix(`/`)', service: 's', middlewares: ['c0'] } }, middlewares),
      {
        forward: standInForward().forward,
        middlewares: factories,
      },
    );
    assert.deepEqual(
      runtime.problems.map((p) => [p.router, p.middleware, p.code]),
      [['r', 'c0', 'BERTH_PROXY_MIDDLEWARE_CYCLE']],
    );
    assert.match(runtime.problems[0]!.error, /deeper than 64/);
  });

  it('resolves a router’s service written as name@provider', async () => {
    const stand = standInForward();
    const runtime = build(snapshot({ r: { rule: 'PathPrefix(`/`)', service: 's@docker' } }, {}), {
      forward: stand.forward,
    });
    assert.equal(runtime.routers.get('web')?.entries[0]?.service, 's');
    assert.equal(await trace(runtime, 'web', '/'), '');
    assert.equal(stand.targets.length, 1);
  });
});
