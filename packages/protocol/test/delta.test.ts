import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyDelta,
  type CanonicalCache,
  canonicalJson,
  DeltaError,
  type DeltaOp,
  deltaBetween,
  deltaOrigin,
  diffSnapshot,
  hashBody,
  jsonEqual,
  SNAPSHOT_SCHEMA,
  type Snapshot,
  type SnapshotBody,
  snapshotFromDelta,
  verifySnapshot,
} from '../src/index.js';

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
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

const base = (): SnapshotBody => ({
  schema: SNAPSHOT_SCHEMA,
  entryPoints: { web: { address: ':80' } },
  http: {
    routers: { a: { rule: 'Host(`a`)', service: 's' } },
    services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } } },
  },
});

type Mutable = Record<string, unknown>;

/** One random configuration edit, made on a deep copy (snapshots are immutable). */
function edit(body: SnapshotBody, rnd: () => number): SnapshotBody {
  const next = structuredClone(body) as unknown as Mutable & SnapshotBody;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const name = () => pick(['a', 'b', 'c', 'd', 'e', 'f', '__proto__', 'x.y', 'constructor']);
  const http = next.http;
  switch (Math.floor(rnd() * 12)) {
    case 0:
      http.routers[name()] = {
        rule: `Host(\`${name()}.test\`)`,
        service: name(),
        ...(rnd() < 0.5 ? { entryPoints: ['web'] } : {}),
        ...(rnd() < 0.3 ? { middlewares: [name(), name()] } : {}),
        ...(rnd() < 0.2 ? { priority: Math.floor(rnd() * 100) } : {}),
      };
      break;
    case 1:
      delete http.routers[pick(Object.keys(http.routers).concat('zz'))];
      break;
    case 2: {
      const k = pick(Object.keys(http.routers).concat('a'));
      const r = Object.hasOwn(http.routers, k) ? http.routers[k] : undefined;
      if (r) r.rule = `PathPrefix(\`/${name()}\`)`;
      else http.routers['a'] = { rule: 'Host(`a`)', service: 's' };
      break;
    }
    case 3:
      http.services[name()] = {
        loadBalancer: {
          servers: Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, i) => ({
            url: `http://127.0.0.${i + 1}:${Math.floor(rnd() * 3) + 1}`,
          })),
          ...(rnd() < 0.3 ? { passHostHeader: rnd() < 0.5 } : {}),
        },
      };
      break;
    case 4: {
      const k = pick(Object.keys(http.services).concat('s'));
      const s = Object.hasOwn(http.services, k) ? http.services[k] : undefined;
      if (s?.loadBalancer) s.loadBalancer.servers.push({ url: `http://127.0.0.9:${Math.floor(rnd() * 9)}` });
      break;
    }
    case 5:
      delete http.services[pick(Object.keys(http.services).concat('zz'))];
      break;
    case 6:
      http.middlewares ??= {};
      http.middlewares[name()] =
        rnd() < 0.5
          ? { stripPrefix: { prefixes: [`/${name()}`] } }
          : { headers: { customRequestHeaders: { [`X-${name()}`]: name() } } };
      break;
    case 7:
      if (http.middlewares) {
        delete http.middlewares[pick(Object.keys(http.middlewares).concat('zz'))];
        if (rnd() < 0.3) delete http.middlewares;
      }
      break;
    case 8:
      next.entryPoints[name()] = { address: `:${8000 + Math.floor(rnd() * 10)}` };
      break;
    case 9:
      if (Object.keys(next.entryPoints).length > 1)
        delete next.entryPoints[pick(Object.keys(next.entryPoints))];
      break;
    case 10: {
      const cert = { certFile: `cert-${name()}`, keyFile: `key-${name()}`, domains: [`${name()}.test`] };
      if (!next.tls || rnd() < 0.2) {
        (next as Mutable)['tls'] = {
          certificates: [cert],
          defaultCertificate: cert,
          options: { default: { minVersion: 'VersionTLS12' } },
          sessionTicketKeys: [name()],
        };
      } else if (rnd() < 0.5) {
        (next.tls.certificates as unknown[]).push(cert);
      } else {
        (next.tls.options as Mutable)[name()] = { minVersion: rnd() < 0.5 ? 'VersionTLS13' : 'VersionTLS12' };
      }
      break;
    }
    case 11:
      if (rnd() < 0.5) delete (next as Mutable)['tls'];
      else (next as Mutable)['routeRemovalGrace'] = rnd() < 0.5 ? '5s' : undefined;
      break;
  }
  return next;
}

describe('snapshot deltas', () => {
  it('sets and deletes by name, replacing leaves and arrays whole', () => {
    const one = base();
    const two = structuredClone(one);
    two.http.routers['b'] = { rule: 'Host(`b`)', service: 's' };
    two.http.routers['a']!.rule = 'Host(`a2`)';
    two.http.services['s']!.loadBalancer!.servers.push({ url: 'http://127.0.0.1:2' });
    delete (two.entryPoints as Record<string, unknown>)['web'];
    const ops = diffSnapshot(one, two);
    assert.deepEqual(ops, [
      { op: 'delete', path: ['entryPoints', 'web'] },
      { op: 'set', path: ['http', 'routers', 'a', 'rule'], value: 'Host(`a2`)' },
      { op: 'set', path: ['http', 'routers', 'b'], value: { rule: 'Host(`b`)', service: 's' } },
      {
        op: 'set',
        path: ['http', 'services', 's', 'loadBalancer', 'servers'],
        value: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2' }],
      },
    ]);
    const applied = applyDelta(one, ops);
    assert.equal(hashBody(applied), hashBody(two));
    // The base is untouched, and what did not change is shared with it.
    assert.deepEqual(one, base());
    assert.equal(applied.http.services, applied.http.services);
    assert.notEqual(applied.http.routers, one.http.routers);
  });

  it('gives no ops for equal bodies, whatever their key order or undefined members', () => {
    const one = base();
    const two: SnapshotBody = {
      http: {
        services: structuredClone(one.http.services),
        routers: { a: { service: 's', rule: 'Host(`a`)' } },
      },
      entryPoints: { web: { address: ':80' } },
      schema: SNAPSHOT_SCHEMA,
      routeRemovalGrace: undefined,
    } as unknown as SnapshotBody;
    assert.deepEqual(diffSnapshot(one, two), []);
  });

  it('compares values as canonical JSON does', () => {
    assert.ok(jsonEqual({ a: 1, b: [{ x: 1, y: undefined }] }, { b: [{ x: 1 }], a: 1, c: undefined }));
    assert.ok(jsonEqual([undefined], [null]));
    assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!jsonEqual({ a: 1, b: 2 }, { a: 1 }));
    assert.ok(!jsonEqual({ constructor: 1 }, {}));
    assert.ok(!jsonEqual({}, { constructor: 1 }));
    assert.ok(!jsonEqual([1, 2], [2, 1]));
    assert.ok(!jsonEqual({ a: [1] }, { a: { 0: 1 } }));
    assert.ok(!jsonEqual('1', 1));
  });

  it('treats __proto__ as a name, never as the prototype', () => {
    const one = base();
    const ops: DeltaOp[] = JSON.parse(
      '[{"op":"set","path":["http","routers","__proto__"],"value":{"rule":"Host(`p`)","service":"s"}}]',
    );
    const applied = applyDelta(one, ops);
    assert.equal(Object.getPrototypeOf(applied.http.routers), Object.prototype);
    assert.deepEqual(Object.keys(applied.http.routers).sort(), ['__proto__', 'a']);
    assert.equal(({} as Record<string, unknown>)['rule'], undefined);
  });

  it('rebuilds the signed snapshot a delta names, on its base only', () => {
    const signature = { alg: 'ed25519' as const, publicKey: 'p', keyCertificate: 'k', value: 'v' };
    const envelope = (version: number, body: SnapshotBody): Snapshot => ({
      epoch: 'e1',
      version,
      hash: hashBody(body),
      createdAt: `t${version}`,
      body,
      signature,
    });
    const one = envelope(1, base());
    const twoBody = structuredClone(base());
    twoBody.http.routers['b'] = { rule: 'Host(`b`)', service: 's' };
    const two = envelope(2, twoBody);
    const delta = deltaBetween(one, two);
    assert.deepEqual(
      { ...delta, ops: undefined },
      {
        type: 'delta',
        epoch: 'e1',
        baseVersion: 1,
        baseHash: one.hash,
        version: 2,
        hash: two.hash,
        createdAt: 't2',
        signature,
        ops: undefined,
      },
    );
    const rebuilt = snapshotFromDelta(one, delta);
    assert.ok(verifySnapshot(rebuilt));
    assert.deepEqual({ ...rebuilt, body: null }, { ...two, body: null });
    // Another base (same version, other body; another version; another epoch) is refused.
    assert.throws(() => snapshotFromDelta({ ...one, hash: 'x' }, delta), DeltaError);
    assert.throws(() => snapshotFromDelta(two, delta), DeltaError);
    assert.throws(() => snapshotFromDelta({ ...one, epoch: 'e2' }, delta), DeltaError);
    // A delta whose ops do not give the announced body fails the hash check.
    const forged = snapshotFromDelta(one, {
      ...delta,
      ops: [{ op: 'delete', path: ['http', 'routers', 'a'] }],
    });
    assert.equal(verifySnapshot(forged), false);
  });

  it('refuses ops that do not fit the base', () => {
    const one = base();
    assert.throws(() => applyDelta(one, [{ op: 'delete', path: ['http', 'routers', 'nope'] }]), DeltaError);
    assert.throws(() => applyDelta(one, [{ op: 'set', path: ['http', 'nope', 'x'], value: 1 }]), DeltaError);
    assert.throws(() => applyDelta(one, [{ op: 'set', path: ['schema', 'x'], value: 1 }]), DeltaError);
    assert.throws(() => applyDelta(one, [{ op: 'set', path: [], value: 1 }]), DeltaError);
    assert.deepEqual(one, base());
  });

  it('turns any earlier version into any later one (property, 500 seeded runs)', () => {
    const seed = Number(process.env['BERTH_DELTA_SEED'] ?? 13);
    const rnd = prng(seed);
    for (let run = 0; run < 500; run++) {
      const history: SnapshotBody[] = [base()];
      const steps = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < steps; i++) {
        let next = history[history.length - 1] as SnapshotBody;
        const edits = 1 + Math.floor(rnd() * 3);
        for (let e = 0; e < edits; e++) next = edit(next, rnd);
        history.push(next);
      }
      const next = history[history.length - 1] as SnapshotBody;
      const frozen = history.map((b) => canonicalJson(b));
      for (let b = 0; b < history.length; b++) {
        const from = history[b] as SnapshotBody;
        // Over the wire: ops are JSON, so apply what JSON gives back.
        const ops = JSON.parse(JSON.stringify(diffSnapshot(from, next))) as DeltaOp[];
        const applied = applyDelta(from, ops);
        assert.equal(
          canonicalJson(applied),
          canonicalJson(next),
          `seed ${seed}, run ${run}, base ${b} of ${history.length - 1}`,
        );
        assert.equal(hashBody(applied), hashBody(next));
        // As a node does: the base hashed (verified) with a cache, then the delta's result with it.
        const cache: CanonicalCache = new WeakMap();
        assert.equal(hashBody(from, cache), hashBody(from));
        assert.equal(canonicalJson(applied, cache), canonicalJson(next));
        assert.equal(hashBody(applied, cache), hashBody(next));
        assert.deepEqual(diffSnapshot(applied, next), []);
      }
      // Applying never changed any version in the history.
      assert.deepEqual(
        history.map((b) => canonicalJson(b)),
        frozen,
      );
    }
  });

  it('keeps a one-route change at 10,000 routes under 2 KB', () => {
    const big = base();
    for (let i = 0; i < 10_000; i++) {
      big.http.routers[`route-${i}`] = { rule: `Host(\`r${i}.example.test\`)`, service: `svc-${i}` };
      big.http.services[`svc-${i}`] = {
        loadBalancer: { servers: [{ url: `http://10.0.${i >> 8}.${i & 255}:80` }] },
      };
    }
    const next = structuredClone(big);
    next.http.routers['route-new'] = { rule: 'Host(`new.example.test`)', service: 'svc-1', priority: 10 };
    const ops = diffSnapshot(big, next);
    assert.equal(ops.length, 1);
    assert.ok(JSON.stringify(ops).length < 2048);
    assert.equal(hashBody(applyDelta(big, ops)), hashBody(next));

    // The node's incremental hash: the same full-body hash, and a wrong op still does not match.
    const cache: CanonicalCache = new WeakMap();
    const baseHash = hashBody(big, cache);
    assert.equal(hashBody(applyDelta(big, ops), cache), hashBody(next));
    const evil = { rule: 'Host(`evil.test`)', service: 'svc-1', priority: 10 };
    const forged = applyDelta(big, [{ op: 'set', path: ['http', 'routers', 'route-new'], value: evil }]);
    assert.notEqual(hashBody(forged, cache), hashBody(next));
    const servers = ['http', 'services', 'svc-7', 'loadBalancer', 'servers'];
    const tampered = applyDelta(big, [
      { op: 'set', path: servers, value: [{ url: 'http://evil.test' }] },
      ...ops,
    ]);
    assert.notEqual(hashBody(tampered, cache), hashBody(next));
    assert.equal(hashBody(big, cache), baseHash);
  });

  it('hashes a chain of deltas, each on the last result, as the bodies themselves (property, 200 seeded runs)', () => {
    // A node hashes each delta's result with one cache; collections come from their base's text.
    const seed = Number(process.env['BERTH_DELTA_SEED'] ?? 17);
    const rnd = prng(seed);
    for (let run = 0; run < 200; run++) {
      const cache: CanonicalCache = new WeakMap();
      let live = base();
      assert.equal(hashBody(live, cache), hashBody(live));
      for (let step = 0; step < 10; step++) {
        let next = live;
        const edits = 1 + Math.floor(rnd() * 3);
        for (let e = 0; e < edits; e++) next = edit(next, rnd);
        const ops = JSON.parse(JSON.stringify(diffSnapshot(live, next))) as DeltaOp[];
        const applied = applyDelta(live, ops);
        assert.equal(
          canonicalJson(applied, cache),
          canonicalJson(next),
          `seed ${seed}, run ${run}, step ${step}`,
        );
        // A collection the ops reached into is a copy of the live one's; the others are shared.
        if (applied.http.routers !== live.http.routers)
          assert.equal(deltaOrigin(applied.http.routers)?.from, live.http.routers);
        live = applied;
      }
    }
  });
});
