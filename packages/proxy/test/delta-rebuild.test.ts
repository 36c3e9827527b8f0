// Issue 13: a delta's rebuild (only what its ops name) routes exactly as a fresh build of the same body.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpMiddleware, HttpRouter, HttpService, RequestView } from '@berth/config';
import type { DeltaOp, SnapshotBody } from '@berth/protocol';
import { applyDelta, SNAPSHOT_SCHEMA } from '@berth/protocol';
import type { Handler, MiddlewareFactory } from '../src/http/context.js';
import { middlewareFactories } from '../src/http/middlewares/index.js';
import type { BuildMemo } from '../src/runtime/build-runtime.js';
import { buildRuntime, rebuildRuntime } from '../src/runtime/build-runtime.js';
import type { Runtime } from '../src/runtime/types.js';
import { silent } from './support/plane.js';
import { prng } from './support/prng.js';

/** A handler and the middlewares around it, outermost first, as configured. */
type Traced = Handler & { trail?: readonly string[] };

/** Middlewares that say what they were built from, so two runtimes' compositions compare. */
function traced(kind: string): MiddlewareFactory {
  return (config, ctx) => (next: Traced) =>
    Object.assign((c: Parameters<Handler>[0]) => next(c), {
      trail: [`${ctx.name}:${kind}:${JSON.stringify(config)}`, ...(next.trail ?? [])],
    });
}

const deps = {
  logger: silent,
  middlewares: { ...middlewareFactories, headers: traced('headers'), stripPrefix: traced('stripPrefix') },
};

const HOSTS = ['a.test', 'b.test', 'x.a.test', 'c.test'];
const PATHS = ['/', '/api', '/api/v1', '/shop'];
const ORIGINS = ['http://127.0.0.1:9001', 'http://127.0.0.1:9002', 'https://127.0.0.1:9003'];
const ROUTERS = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9'];
const LB = ['s0', 's1', 's2', 's3', 's4'];
const NESTED = ['w0', 'w1', 'm0'];
const MIDDLEWARES = ['tag', 'strip', 'both', 'epTag'];

function view(host: string, path: string): RequestView {
  return { host, path, method: 'GET', headers: {}, query: '', clientIp: '127.0.0.1' };
}

/** A random edit of a small but varied body: what the ops of real deltas look like. */
class Edits {
  readonly #r: () => number;
  constructor(seed: number) {
    this.#r = prng(seed);
  }

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.#r() * list.length)] as T;
  }

  chance(p: number): boolean {
    return this.#r() < p;
  }

  router(): HttpRouter {
    const host = this.pick(HOSTS);
    const kind = this.pick(['host', 'hostPath', 'path', 'regexp', 'or'] as const);
    const rule =
      kind === 'host'
        ? `Host(\`${host}\`)`
        : kind === 'hostPath'
          ? `Host(\`${host}\`) && PathPrefix(\`${this.pick(PATHS)}\`)`
          : kind === 'path'
            ? `PathPrefix(\`${this.pick(PATHS)}\`)`
            : kind === 'regexp'
              ? 'HostRegexp(`^.+\\.a\\.test$`)'
              : `Host(\`${host}\`) || Host(\`${this.pick(HOSTS)}\`)`;
    const router: HttpRouter = {
      rule,
      // Sometimes by `name@provider`, which resolves to the name without it.
      service: `${this.pick([...LB, ...NESTED])}${this.chance(0.3) ? '@file' : ''}`,
    };
    if (this.chance(0.3)) router.priority = Math.floor(this.#r() * 3) * 10;
    if (this.chance(0.4)) router.entryPoints = this.chance(0.5) ? ['web'] : ['websecure', 'nowhere'];
    if (this.chance(0.2)) router.tls = {};
    if (this.chance(0.4))
      router.middlewares = this.chance(0.1) ? ['missing'] : [this.pick(MIDDLEWARES.slice(0, 3))];
    return router;
  }

  service(name: string): HttpService {
    if (name.startsWith('w'))
      return {
        weighted: {
          services: [
            { name: this.pick(LB), weight: 1 },
            { name: `${this.pick(LB)}@file`, weight: 2 },
          ],
        },
      };
    if (name.startsWith('m'))
      return {
        mirroring: { service: this.pick(['w0', ...LB]), mirrors: [{ name: this.pick(LB), percent: 10 }] },
      };
    const count = 1 + Math.floor(this.#r() * 2);
    return { loadBalancer: { servers: Array.from({ length: count }, () => ({ url: this.pick(ORIGINS) })) } };
  }

  middleware(name: string): HttpMiddleware {
    if (name === 'both')
      return { chain: { middlewares: this.chance(0.2) ? ['tag', 'missing'] : ['strip', 'tag'] } };
    if (name === 'strip') return { stripPrefix: { prefixes: [this.pick(PATHS)] } };
    return { headers: { customRequestHeaders: { 'x-tag': String(Math.floor(this.#r() * 100)) } } };
  }

  body(): SnapshotBody {
    return {
      schema: SNAPSHOT_SCHEMA,
      entryPoints: {
        web: { address: ':80' },
        websecure: { address: ':443', http: { tls: {}, middlewares: ['epTag'] } },
      },
      http: {
        routers: Object.fromEntries(ROUTERS.slice(0, 6).map((n) => [n, this.router()])),
        services: Object.fromEntries([...LB, ...NESTED].map((n) => [n, this.service(n)])),
        middlewares: Object.fromEntries(MIDDLEWARES.map((n) => [n, this.middleware(n)])),
      },
    };
  }

  /** One to three ops: set or delete routers, services, middlewares (some leave the body invalid). */
  ops(body: SnapshotBody): DeltaOp[] {
    const ops: DeltaOp[] = [];
    const seen = new Set<string>();
    const count = 1 + Math.floor(this.#r() * 3);
    for (let i = 0; i < count; i++) {
      const kind = this.pick([
        'routers',
        'routers',
        'routers',
        'services',
        'services',
        'middlewares',
      ] as const);
      const name =
        kind === 'routers'
          ? this.pick(ROUTERS)
          : kind === 'services'
            ? // `s1@file` as a name of its own: references to it stop resolving to `s1`.
              this.pick([...LB, ...NESTED, 's1@file', 's2@file'])
            : this.pick(MIDDLEWARES);
      if (seen.has(`${kind}.${name}`)) continue;
      seen.add(`${kind}.${name}`);
      const path = ['http', kind, name];
      const present = Object.hasOwn((body.http[kind] ?? {}) as object, name);
      if (present && this.chance(kind === 'routers' ? 0.3 : 0.1)) ops.push({ op: 'delete', path });
      else {
        const value =
          kind === 'routers'
            ? this.router()
            : kind === 'services'
              ? this.service(name)
              : this.middleware(name);
        ops.push({ op: 'set', path, value });
      }
    }
    return ops;
  }
}

/** Where every probe request goes, and what the runtime holds: two runtimes routing alike give the same. */
function behaviour(runtime: Runtime): unknown {
  const tables: Record<string, unknown> = {};
  for (const [ep, table] of runtime.routers) {
    const found: string[] = [];
    for (const host of [...HOSTS, 'y.x.a.test', 'other.test'])
      for (const path of PATHS) {
        const req = view(host, path);
        found.push(`${table.find(req)?.name}|${table.findTls(req)?.name}`);
      }
    tables[ep] = {
      entries: table.entries.map((e) => ({
        name: e.name,
        service: e.service,
        priority: e.priority,
        tls: e.tls === true,
        direct: e.direct?.name,
        trail: (e.handler as Traced | undefined)?.trail,
      })),
      found,
    };
  }
  return {
    tables,
    services: [...runtime.services.keys()].sort(),
    kinds: [...runtime.services.values()]
      .map((s) => `${s.name}:${s.kind}:${s.servers.map((x) => x.origin)}`)
      .sort(),
    origins: [...runtime.origins].sort(),
    problems: runtime.problems.map((p) => `${p.router}|${p.middleware}|${p.code}`).sort(),
  };
}

/** Applies `ops` as the data plane does (rebuild, or full build when the ops reach further). */
function applyOps(
  body: SnapshotBody,
  ops: readonly DeltaOp[],
  memo: BuildMemo,
): { ok: true; runtime: Runtime; memo: BuildMemo; partial: boolean } | { ok: false; error: string } {
  const rebuilt = rebuildRuntime(body, ops, memo);
  if (rebuilt === undefined) {
    const full = buildRuntime(body, deps, memo);
    return full.ok ? { ...full, partial: false } : full;
  }
  if (!rebuilt.ok) return rebuilt;
  rebuilt.commit();
  return { ok: true, runtime: rebuilt.runtime, memo: rebuilt.memo, partial: true };
}

describe('delta rebuild', () => {
  it('routes as a fresh build of the same body, across random edit sequences', () => {
    let partial = 0;
    let refused = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const edits = new Edits(seed);
      let body = edits.body();
      let built = buildRuntime(body, deps);
      // A random start may be invalid (a router naming a service it cannot find): draw again.
      for (let retry = 0; !built.ok && retry < 20; retry++) {
        body = edits.body();
        built = buildRuntime(body, deps);
      }
      assert.ok(built.ok, `seed ${seed}: no valid start`);
      let memo = built.memo;
      for (let step = 0; step < 40; step++) {
        const ops = edits.ops(body);
        const next = applyDelta(body, ops);
        const fresh = buildRuntime(next, deps);
        const result = applyOps(next, ops, memo);
        const where = `seed ${seed} step ${step}: ${JSON.stringify(ops)}`;
        if (!fresh.ok) {
          assert.equal(result.ok, false, `${where}: a body a fresh build refuses was accepted`);
          refused++;
          continue;
        }
        assert.ok(result.ok, `${where}: ${result.ok ? '' : result.error}`);
        if (result.partial) partial++;
        assert.deepEqual(behaviour(result.runtime), behaviour(fresh.runtime), where);
        body = next;
        memo = result.memo;
      }
    }
    // The sequences exercised all three paths.
    assert.ok(partial > 500, `${partial} partial rebuilds`);
    assert.ok(refused > 10, `${refused} refused bodies`);
  });

  it('leaves the live runtime as it was when the rebuilt body is refused', () => {
    const edits = new Edits(7);
    let body = edits.body();
    let built = buildRuntime(body, deps);
    while (!built.ok) {
      body = edits.body();
      built = buildRuntime(body, deps);
    }
    const before = behaviour(built.runtime);
    const ops: DeltaOp[] = [
      { op: 'set', path: ['http', 'routers', 'r0'], value: { rule: 'Host(`new.test`)', service: 's0' } },
      { op: 'set', path: ['http', 'routers', 'bad'], value: { rule: 'Host(`bad.test`)', service: 'nope' } },
    ];
    const result = rebuildRuntime(applyDelta(body, ops), ops, built.memo);
    assert.equal(result?.ok, false);
    assert.deepEqual(behaviour(built.runtime), before);
  });

  it('reuses the service, balancer and entry of a router the delta does not touch', () => {
    const edits = new Edits(3);
    let body = edits.body();
    let built = buildRuntime(body, deps);
    while (!built.ok) {
      body = edits.body();
      built = buildRuntime(body, deps);
    }
    const liveServices = new Map(built.runtime.services);
    const ops: DeltaOp[] = [
      {
        op: 'set',
        path: ['http', 'routers', 'added'],
        value: { rule: 'Host(`added.test`)', service: 'new' },
      },
      {
        op: 'set',
        path: ['http', 'services', 'new'],
        value: { loadBalancer: { servers: [{ url: ORIGINS[0] }] } },
      },
    ];
    const result = rebuildRuntime(applyDelta(body, ops), ops, built.memo);
    assert.ok(result?.ok);
    result.commit();
    for (const [name, service] of liveServices)
      assert.equal(result.runtime.services.get(name), service, name);
    assert.equal(result.runtime.routers.get('web')?.find(view('added.test', '/'))?.service, 'new');
  });

  it('rebuilds what named `a@file` when a service of that very name appears', () => {
    const lb = (url: string): HttpService => ({ loadBalancer: { servers: [{ url }] } });
    const body: SnapshotBody = {
      schema: SNAPSHOT_SCHEMA,
      entryPoints: { web: { address: ':80' } },
      http: {
        routers: {
          r: { rule: 'Host(`a.test`)', service: 'a@file' },
          w: { rule: 'Host(`w.test`)', service: 'w' },
        },
        services: { a: lb(ORIGINS[0]!), w: { weighted: { services: [{ name: 'a@file' }] } } },
      },
    };
    const built = buildRuntime(body, deps);
    assert.ok(built.ok);
    const ops: DeltaOp[] = [{ op: 'set', path: ['http', 'services', 'a@file'], value: lb(ORIGINS[1]!) }];
    const result = rebuildRuntime(applyDelta(body, ops), ops, built.memo);
    assert.ok(result?.ok);
    const weighted = built.runtime.services.get('w');
    result.commit();
    assert.equal(result.runtime.routers.get('web')?.find(view('a.test', '/'))?.service, 'a@file');
    assert.notEqual(result.runtime.services.get('w'), weighted, 'the weighted service names the new one');
    assert.equal(result.runtime.services.get('a')?.servers[0]?.origin, ORIGINS[0]);
  });
});
