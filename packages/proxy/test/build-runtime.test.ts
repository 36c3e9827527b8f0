// buildRuntime and routeRequest: ordering, entry point filter, host index equivalence, rejections.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpRouter, HttpService, RequestView } from '@berth/config';
import { SNAPSHOT_SCHEMA } from '@berth/protocol';
import { buildRuntime, SNAPSHOT_INVALID } from '../src/runtime/build-runtime.js';
import { routeRequest } from '../src/runtime/route-request.js';
import type { Runtime } from '../src/runtime/types.js';
import { fakeContext } from './support/context.js';
import { body, service } from './support/snapshot.js';

function built(b: ReturnType<typeof body>): Runtime {
  const result = buildRuntime(b);
  if (!result.ok) assert.fail(result.error);
  return result.runtime;
}

function view(host: string, path = '/', method = 'GET'): RequestView {
  return { host, path, method, headers: {}, query: '', clientIp: '127.0.0.1' };
}

function names(runtime: Runtime, ep: string): string[] {
  return runtime.routers.get(ep)?.entries.map((e) => e.name) ?? [];
}

test('routers are ordered by priority, then by name', () => {
  const runtime = built(
    body(
      {
        short: { rule: 'PathPrefix(`/`)', service: 's' },
        long: { rule: 'Host(`example.com`) && PathPrefix(`/api`)', service: 's' },
        explicit: { rule: 'PathPrefix(`/`)', service: 's', priority: 1000 },
        zeta: { rule: 'Path(`/b`)', service: 's', priority: 7 },
        alpha: { rule: 'Path(`/a`)', service: 's', priority: 7 },
      },
      { s: service('http://127.0.0.1:1') },
    ),
  );
  assert.deepEqual(names(runtime, 'web'), ['explicit', 'long', 'short', 'alpha', 'zeta']);
  assert.deepEqual(
    runtime.routers.get('web')?.entries.map((e) => e.priority),
    [1000, 'Host(`example.com`) && PathPrefix(`/api`)'.length, 'PathPrefix(`/`)'.length, 7, 7],
  );
});

test('priority 0 falls back to the rule length, as in Traefik', () => {
  const rule = 'PathPrefix(`/x`)';
  const runtime = built(
    body({ r: { rule, service: 's', priority: 0 } }, { s: service('http://127.0.0.1:1') }),
  );
  assert.equal(runtime.routers.get('web')?.entries[0]?.priority, rule.length);
});

test('a router serves its entry points, or all of them when it names none', () => {
  const runtime = built(
    body(
      {
        everywhere: { rule: 'PathPrefix(`/`)', service: 's' },
        emptyList: { rule: 'PathPrefix(`/e`)', service: 's', entryPoints: [] },
        adminOnly: { rule: 'PathPrefix(`/admin`)', service: 's', entryPoints: ['admin'] },
        both: { rule: 'PathPrefix(`/both`)', service: 's', entryPoints: ['web', 'admin', 'nowhere'] },
      },
      { s: service('http://127.0.0.1:1') },
      { web: ':80', admin: '127.0.0.1:8081' },
    ),
  );
  assert.deepEqual(names(runtime, 'web'), ['both', 'emptyList', 'everywhere']);
  assert.deepEqual(names(runtime, 'admin'), ['adminOnly', 'both', 'emptyList', 'everywhere']);
  assert.equal(runtime.routers.has('nowhere'), false);
});

test('routeRequest picks the highest-priority match and undefined when none', () => {
  const runtime = built(
    body(
      {
        api: { rule: 'Host(`a.test`) && PathPrefix(`/api`)', service: 'api' },
        site: { rule: 'Host(`a.test`)', service: 'site' },
        other: { rule: 'Host(`b.test`)', service: 'site' },
      },
      { api: service('http://127.0.0.1:1'), site: service('http://127.0.0.1:2') },
    ),
  );
  assert.equal(routeRequest(runtime, 'web', view('a.test', '/api/x'))?.name, 'api');
  assert.equal(routeRequest(runtime, 'web', view('a.test', '/'))?.name, 'site');
  assert.equal(routeRequest(runtime, 'web', view('a.test.', '/'))?.name, 'site');
  assert.equal(routeRequest(runtime, 'web', view('b.test', '/api'))?.name, 'other');
  assert.equal(routeRequest(runtime, 'web', view('c.test', '/')), undefined);
  assert.equal(routeRequest(runtime, 'nope', view('a.test', '/')), undefined);
});

test('services: parsed URLs, origins, passHostHeader default true', () => {
  const runtime = built(
    body(
      { r: { rule: 'PathPrefix(`/`)', service: 'a' } },
      {
        a: {
          loadBalancer: { servers: [{ url: 'http://10.0.0.1:8080/ignored' }, { url: 'http://10.0.0.2' }] },
        },
        b: { loadBalancer: { servers: [], passHostHeader: false } },
      },
    ),
  );
  const a = runtime.services.get('a');
  assert.deepEqual(
    a?.servers.map((s) => s.origin),
    ['http://10.0.0.1:8080', 'http://10.0.0.2'],
  );
  assert.ok(a?.servers[0]?.url instanceof URL);
  assert.equal(a?.passHostHeader, true);
  assert.equal(runtime.services.get('b')?.passHostHeader, false);
  assert.equal(runtime.services.get('b')?.balancer.next(), undefined);
  assert.deepEqual([...runtime.origins].sort(), ['http://10.0.0.1:8080', 'http://10.0.0.2']);
});

/** w0 → w1 → ... → wN, a chain of weighted services ending in a load balancer. */
function nested(depth: number): Record<string, HttpService> {
  const services: Record<string, HttpService> = { [`w${depth}`]: service('http://127.0.0.1:1') };
  for (let i = 0; i < depth; i++) services[`w${i}`] = { weighted: { services: [{ name: `w${i + 1}` }] } };
  return services;
}

test('invalid snapshots are refused with BERTH_PROXY_SNAPSHOT_INVALID', () => {
  const ok = body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service('http://127.0.0.1:1') });
  const cases: [string, unknown, RegExp][] = [
    ['unknown schema', { ...ok, schema: SNAPSHOT_SCHEMA + 1 }, /schema 2/],
    ['bad rule', body({ r: { rule: 'PathPrefix(`/`', service: 's' } }, ok.http.services), /router "r": rule/],
    ['unknown matcher', body({ r: { rule: 'Nope(`x`)', service: 's' } }, ok.http.services), /router "r"/],
    [
      'missing service',
      body({ r: { rule: 'PathPrefix(`/`)', service: 'gone' } }, {}),
      /service "gone" does not exist/,
    ],
    ['bad server url', body({}, { s: service('not a url') }), /service "s": server 0: invalid url/],
    ['bad scheme', body({}, { s: service('ftp://x') }), /unsupported scheme/],
    [
      'negative weight',
      body({}, { s: { loadBalancer: { servers: [{ url: 'http://x', weight: -1 }] } } }),
      /weight/,
    ],
    ['bad address', body({}, {}, { web: 'nope' }), /entry point "web": invalid address/],
    ['no http', { schema: SNAPSHOT_SCHEMA, entryPoints: {} }, /http/],
    [
      'null server',
      body({}, { s: { loadBalancer: { servers: [null as never] } } }),
      /server 0: not an object/,
    ],
    ['services nested too deep', body({}, nested(100)), /nest deeper than 64/],
  ];
  for (const [label, input, message] of cases) {
    const result = buildRuntime(input as ReturnType<typeof body>);
    assert.equal(result.ok, false, label);
    if (!result.ok) {
      assert.equal(result.code, SNAPSHOT_INVALID, label);
      assert.match(result.error, message, label);
    }
  }
});

/** mulberry32: a tiny seeded PRNG so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTS = ['a.test', 'b.test', 'c.test', 'www.a.test', 'A.test.'];
const PATHS = ['/', '/x', '/api', '/api/v1', '/y'];

function randomRule(rand: () => number, depth: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const roll = rand();
  if (depth <= 0 || roll < 0.4) {
    const kind = rand();
    if (kind < 0.4) return `Host(\`${pick(HOSTS)}\`)`;
    if (kind < 0.5) return `Host(\`${pick(HOSTS)}\`, \`${pick(HOSTS)}\`)`;
    if (kind < 0.7) return `Path(\`${pick(PATHS)}\`)`;
    return `PathPrefix(\`${pick(PATHS)}\`)`;
  }
  if (roll < 0.55) return `!${randomRule(rand, depth - 1)}`;
  const op = roll < 0.8 ? '&&' : '||';
  return `(${randomRule(rand, depth - 1)} ${op} ${randomRule(rand, depth - 1)})`;
}

test('the host index finds exactly what a linear scan in priority order finds', () => {
  const requestHosts = ['a.test', 'b.test', 'c.test', 'www.a.test', 'a.test.', 'd.test', ''];
  let compared = 0;
  for (let seed = 1; seed <= 150; seed++) {
    const rand = prng(seed);
    const routers: Record<string, HttpRouter> = {};
    const count = 1 + Math.floor(rand() * 25);
    for (let i = 0; i < count; i++) {
      const router: HttpRouter = { rule: randomRule(rand, 3), service: 's' };
      // Few distinct explicit priorities, so ties (broken by name) are common.
      if (rand() < 0.3) router.priority = 1 + Math.floor(rand() * 3);
      routers[`r${Math.floor(rand() * 1000)}-${i}`] = router;
    }
    const runtime = built(body(routers, { s: service('http://127.0.0.1:1') }));
    const table = runtime.routers.get('web')!;
    for (const host of requestHosts) {
      for (const path of PATHS) {
        const req = view(host, path);
        const linear = table.entries.find((entry) => entry.match(req));
        assert.equal(table.find(req)?.name, linear?.name, `seed ${seed}, ${host}${path}`);
        compared++;
      }
    }
  }
  assert.equal(compared, 150 * 7 * PATHS.length);
});

test('every router gets a handler, and a build without deps answers 502 instead of hanging', async () => {
  const runtime = built(
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service('http://127.0.0.1:1') }),
  );
  assert.deepEqual(runtime.problems, []);
  const entry = runtime.routers.get('web')?.entries[0];
  assert.ok(entry?.handler);
  const { ctx, answers } = fakeContext();
  await entry.handler(ctx);
  assert.equal(answers[0]?.status, 502);
  assert.equal(ctx.log.error, 'no_forwarder');
});
