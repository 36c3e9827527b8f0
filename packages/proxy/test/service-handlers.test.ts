// Service handlers built from a snapshot: balancing, health, sticky sessions, canary splits, mirroring.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpService } from '@berth/config';
import type { ServerHealth } from '../src/health/server-health.js';
import type { RequestContext } from '../src/http/context.js';
import type { ForwardOutcome, ForwardTarget } from '../src/http/forward-types.js';
import type { RuntimeDeps } from '../src/runtime/build-runtime.js';
import { buildRuntime } from '../src/runtime/build-runtime.js';
import type { Runtime, ServerTarget } from '../src/runtime/types.js';
import { type Answer, fakeContext, standInForward } from './support/context.js';
import { prng } from './support/prng.js';
import { body } from './support/snapshot.js';

function runtimeOf(services: Record<string, HttpService>, deps: Partial<RuntimeDeps>): Runtime {
  const result = buildRuntime(body({ r: { rule: 'PathPrefix(`/`)', service: 'front' } }, services), deps);
  if (!result.ok) assert.fail(result.error);
  return result.runtime;
}

async function serve(
  runtime: Runtime,
  headers: Record<string, string> = {},
): Promise<{ ctx: RequestContext; answer: Answer }> {
  const { ctx, answers } = fakeContext({ headers });
  const router = runtime.routers.get('web')?.find(ctx.view);
  assert.ok(router?.handler, 'the router has a handler');
  await router.handler(ctx);
  assert.equal(answers.length, 1, 'exactly one answer');
  return { ctx, answer: answers[0]! };
}

function tally(targets: readonly ForwardTarget[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of targets) out[t.server.origin] = (out[t.server.origin] ?? 0) + 1;
  return out;
}

/** Health that reports the servers in `down` unavailable and records every outcome. */
function health(down: Set<string> = new Set()): ServerHealth & { records: [string, string, boolean][] } {
  const records: [string, string, boolean][] = [];
  return {
    records,
    isAvailable: (_service, server: ServerTarget) => !down.has(server.origin),
    record: (service, server, ok) => records.push([service, server.origin, ok]),
  };
}

const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';
const C = 'http://10.0.0.3:8080';

describe('loadBalancer service', () => {
  it('splits 3:1 weights exactly over 400 requests', async () => {
    const stand = standInForward();
    const runtime = runtimeOf(
      {
        front: {
          loadBalancer: {
            servers: [
              { url: A, weight: 3 },
              { url: B, weight: 1 },
            ],
          },
        },
      },
      { forward: stand.forward },
    );
    for (let i = 0; i < 400; i++) await serve(runtime);
    assert.deepEqual(tally(stand.targets), { [A]: 300, [B]: 100 });
  });

  it('forwards with passHostHeader and serversTransport, and logs service and server', async () => {
    const stand = standInForward();
    const runtime = runtimeOf(
      { front: { loadBalancer: { servers: [{ url: A }], passHostHeader: false, serversTransport: 'tls' } } },
      { forward: stand.forward },
    );
    const { ctx, answer } = await serve(runtime);
    assert.equal(answer.status, 200);
    assert.equal(stand.targets[0]?.passHostHeader, false);
    assert.equal(stand.targets[0]?.serversTransport, 'tls');
    assert.equal(ctx.log.service, 'front');
    assert.equal(ctx.log.server, A);
  });

  it('records each outcome for passive health: ok below 500, not ok for 5xx and errors, nothing for client aborts', async () => {
    const outcomes: ForwardOutcome[] = [
      { kind: 'response', status: 404 },
      { kind: 'response', status: 503 },
      { kind: 'error', reason: 'connect', responseStarted: false },
      { kind: 'error', reason: 'aborted', responseStarted: false },
    ];
    let i = 0;
    const stand = standInForward(() => outcomes[i++]!);
    const h = health();
    const runtime = runtimeOf(
      { front: { loadBalancer: { servers: [{ url: A }] } } },
      { forward: stand.forward, health: h },
    );
    for (let n = 0; n < outcomes.length; n++) await serve(runtime);
    assert.deepEqual(h.records, [
      ['front', A, true],
      ['front', A, false],
      ['front', A, false],
    ]);
  });

  it('skips servers health says are down, and answers 503 without forwarding when all are', async () => {
    const stand = standInForward();
    const down = new Set([A]);
    const runtime = runtimeOf(
      { front: { loadBalancer: { servers: [{ url: A }, { url: B }] } } },
      { forward: stand.forward, health: health(down) },
    );
    for (let i = 0; i < 10; i++) await serve(runtime);
    assert.deepEqual(tally(stand.targets), { [B]: 10 });
    down.add(B);
    const { ctx, answer } = await serve(runtime);
    assert.equal(answer.status, 503);
    assert.equal(answer.body, 'Service Unavailable\n');
    assert.equal(ctx.log.error, 'no_server');
    assert.equal(stand.targets.length, 10);
    assert.equal(runtime.services.get('front')?.available(), false);
  });

  it('with strategy p2c, sends new requests away from a server whose requests are still in flight', async () => {
    const pending: (() => void)[] = [];
    const targets: string[] = [];
    const runtime = runtimeOf(
      { front: { loadBalancer: { strategy: 'p2c', servers: [{ url: A }, { url: B }] } } },
      {
        random: prng(5),
        forward: async (ctx, target) => {
          targets.push(target.server.origin);
          // Server A never finishes while the test runs its requests; B answers at once.
          if (target.server.origin === A) await new Promise<void>((resolve) => pending.push(resolve));
          await ctx.respond(200, {}, null);
          return { kind: 'response', status: 200 };
        },
      },
    );
    const router = runtime.routers.get('web')!.find(fakeContext().ctx.view)!;
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      inFlight.push(router.handler!(fakeContext().ctx));
      // Let B's request finish before the next pick.
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Once one request is stuck on A, every later pick sees A busier than B.
    assert.equal(targets.filter((t) => t === A).length, 1);
    for (const release of pending) release();
    await Promise.all(inFlight);
  });
});

describe('sticky sessions', () => {
  const sticky = {
    cookie: { name: 'pin', httpOnly: true, secure: true, sameSite: 'lax' as const, maxAge: 60 },
  };

  it('pins a client: every request with the cookie lands on the server it names', async () => {
    const stand = standInForward();
    const runtime = runtimeOf(
      { front: { loadBalancer: { servers: [{ url: A }, { url: B }, { url: C }], sticky } } },
      { forward: stand.forward },
    );
    const first = await serve(runtime);
    const setCookie = String(first.answer.headers['set-cookie']);
    assert.match(setCookie, /^pin=[0-9a-f]{16}; Path=\/; Max-Age=60; HttpOnly; Secure; SameSite=Lax$/);
    const cookie = setCookie.slice(0, setCookie.indexOf(';'));
    const pinned = first.ctx.log.server;
    for (let i = 0; i < 200; i++) {
      const { ctx, answer } = await serve(runtime, { cookie: `other=1; ${cookie}` });
      assert.equal(ctx.log.server, pinned);
      assert.equal(answer.headers['set-cookie'], undefined, 'a valid cookie is not set again');
    }
  });

  it('spreads new clients by the balancer, so sessions split as the weights say', async () => {
    const stand = standInForward();
    const runtime = runtimeOf(
      {
        front: {
          loadBalancer: {
            servers: [
              { url: A, weight: 3 },
              { url: B, weight: 1 },
            ],
            sticky,
          },
        },
      },
      { forward: stand.forward },
    );
    for (let i = 0; i < 400; i++) await serve(runtime);
    assert.deepEqual(tally(stand.targets), { [A]: 300, [B]: 100 });
  });

  it('falls back to the balancer and sets a new cookie when its server is down or gone', async () => {
    const stand = standInForward();
    const down = new Set<string>();
    const services = { front: { loadBalancer: { servers: [{ url: A }, { url: B }], sticky } } };
    const runtime = runtimeOf(services, { forward: stand.forward, health: health(down) });
    const first = await serve(runtime);
    const cookie = String(first.answer.headers['set-cookie']).split(';')[0]!;
    const pinned = first.ctx.log.server!;
    const other = pinned === A ? B : A;

    down.add(pinned);
    const moved = await serve(runtime, { cookie });
    assert.equal(moved.ctx.log.server, other);
    const newCookie = String(moved.answer.headers['set-cookie']).split(';')[0]!;
    assert.notEqual(newCookie, cookie);
    down.clear();
    assert.equal((await serve(runtime, { cookie: newCookie })).ctx.log.server, other);

    // A new snapshot without the pinned server: the cookie names nothing any more.
    const next = runtimeOf(
      { front: { loadBalancer: { servers: [{ url: other }, { url: C }], sticky } } },
      { forward: stand.forward },
    );
    const gone = await serve(next, { cookie });
    assert.notEqual(gone.ctx.log.server, pinned);
    assert.ok(gone.answer.headers['set-cookie']);

    // Weight 0 drains the pinned server: its sessions move as well.
    const drained = runtimeOf(
      { front: { loadBalancer: { servers: [{ url: pinned, weight: 0 }, { url: other }], sticky } } },
      { forward: stand.forward },
    );
    const away = await serve(drained, { cookie });
    assert.equal(away.ctx.log.server, other);
    assert.ok(away.answer.headers['set-cookie']);
  });

  it('names the cookie after the service by default and keeps the server address out of it', async () => {
    const stand = standInForward();
    const runtime = runtimeOf(
      { front: { loadBalancer: { servers: [{ url: A }], sticky: { cookie: {} } } } },
      { forward: stand.forward },
    );
    const { answer } = await serve(runtime);
    const setCookie = String(answer.headers['set-cookie']);
    assert.match(setCookie, /^_[0-9a-f]{6}=[0-9a-f]{16}; Path=\/$/);
    assert.doesNotMatch(setCookie, /10\.0\.0\.1/);
  });

  it('keeps cookies the backend sets next to its own', async () => {
    const runtime = runtimeOf(
      { front: { loadBalancer: { servers: [{ url: A }], sticky } } },
      {
        forward: async (ctx) => {
          await ctx.respond(200, { 'set-cookie': ['app=1'] }, null);
          return { kind: 'response', status: 200 };
        },
      },
    );
    const { answer } = await serve(runtime);
    const cookies = answer.headers['set-cookie'] as string[];
    assert.equal(cookies[0], 'app=1');
    assert.match(cookies[1]!, /^pin=/);
  });
});

describe('weighted service (canary split)', () => {
  const services = (sticky?: { cookie: { name: string } }): Record<string, HttpService> => ({
    front: {
      weighted: {
        services: [
          { name: 'v1', weight: 3 },
          { name: 'v2@file', weight: 1 },
        ],
        ...(sticky ? { sticky } : {}),
      },
    },
    v1: { loadBalancer: { servers: [{ url: A }] } },
    v2: { loadBalancer: { servers: [{ url: B }, { url: C }] } },
  });

  it('splits requests 3:1 exactly between the child services', async () => {
    const stand = standInForward();
    const runtime = runtimeOf(services(), { forward: stand.forward });
    const byService: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const { ctx } = await serve(runtime);
      byService[ctx.log.service!] = (byService[ctx.log.service!] ?? 0) + 1;
    }
    assert.deepEqual(byService, { v1: 300, v2: 100 });
    assert.deepEqual(tally(stand.targets), { [A]: 300, [B]: 50, [C]: 50 });
  });

  it('sends everything to the children that can answer, and 503 when none can', async () => {
    const stand = standInForward();
    const down = new Set([A]);
    const runtime = runtimeOf(services(), { forward: stand.forward, health: health(down) });
    for (let i = 0; i < 20; i++) assert.equal((await serve(runtime)).ctx.log.service, 'v2');
    down.add(B).add(C);
    const { ctx, answer } = await serve(runtime);
    assert.equal(answer.status, 503);
    assert.equal(ctx.log.error, 'no_server');
  });

  it('pins a client to one child with a sticky cookie at the weighted level', async () => {
    const stand = standInForward();
    const runtime = runtimeOf(services({ cookie: { name: 'canary' } }), { forward: stand.forward });
    const first = await serve(runtime);
    const cookie = String(first.answer.headers['set-cookie']).split(';')[0]!;
    assert.match(cookie, /^canary=/);
    for (let i = 0; i < 50; i++)
      assert.equal((await serve(runtime, { cookie })).ctx.log.service, first.ctx.log.service);
  });
});

describe('mirroring service', () => {
  const services = (percent: number): Record<string, HttpService> => ({
    front: { mirroring: { service: 'main', mirrors: [{ name: 'shadow', percent }] } },
    main: { loadBalancer: { servers: [{ url: A }] } },
    shadow: { loadBalancer: { servers: [{ url: B }] } },
  });

  it('copies about `percent` of the requests to the mirror, and the main service answers all', async () => {
    const stand = standInForward();
    const runtime = runtimeOf(services(25), { forward: stand.forward, random: prng(11) });
    for (let i = 0; i < 4000; i++) {
      const { answer, ctx } = await serve(runtime);
      assert.equal(answer.body, A);
      assert.equal(ctx.log.server, A);
    }
    await new Promise((resolve) => setImmediate(resolve));
    const mirrored = tally(stand.targets)[B] ?? 0;
    assert.equal(tally(stand.targets)[A], 4000);
    assert.ok(mirrored > 900 && mirrored < 1100, `mirrored ${mirrored} of 4000`);
  });

  it('mirrors every request at 100 and none at 0', async () => {
    for (const [percent, expected] of [
      [100, 50],
      [0, 0],
    ] as const) {
      const stand = standInForward();
      const runtime = runtimeOf(services(percent), { forward: stand.forward });
      for (let i = 0; i < 50; i++) await serve(runtime);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(tally(stand.targets)[B] ?? 0, expected);
    }
  });

  it('answers without waiting for a mirror that never answers or fails', async () => {
    let mirrorCalls = 0;
    const runtime = runtimeOf(services(100), {
      forward: async (ctx, target) => {
        if (target.server.origin === B) {
          mirrorCalls++;
          if (mirrorCalls % 2 === 0) throw new Error('mirror exploded');
          return new Promise<ForwardOutcome>(() => {});
        }
        await ctx.respond(200, {}, 'main');
        return { kind: 'response', status: 200 };
      },
    });
    for (let i = 0; i < 10; i++) assert.equal((await serve(runtime)).answer.body, 'main');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(mirrorCalls, 10);
  });

  it('skips the mirrors when a middleware already read part of the body, rather than sending a truncated copy', async () => {
    const stand = standInForward();
    const runtime = runtimeOf(services(100), { forward: stand.forward });
    const { ctx, answers } = fakeContext({
      method: 'POST',
      headers: { 'content-length': '4' },
      body: 'data',
    });
    ctx.req.read();
    await runtime.routers.get('web')!.find(ctx.view)!.handler!(ctx);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answers.length, 1);
    assert.deepEqual(tally(stand.targets), { [A]: 1 });
  });

  it('refuses a snapshot whose services reference each other in a cycle or name a missing one', () => {
    const cycle = buildRuntime(
      body(
        { r: { rule: 'PathPrefix(`/`)', service: 'a' } },
        {
          a: { weighted: { services: [{ name: 'b' }] } },
          b: { mirroring: { service: 'a', mirrors: [] } },
        },
      ),
    );
    assert.equal(cycle.ok, false);
    if (!cycle.ok) assert.match(cycle.error, /cycle/);
    const missing = buildRuntime(body({}, { a: { weighted: { services: [{ name: 'nope' }] } } }));
    assert.equal(missing.ok, false);
    if (!missing.ok) assert.match(missing.error, /"nope" does not exist/);
  });
});
