// Pools are shared by origin and retired once no runtime references them for the grace period.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PoolCache } from '../src/http/pool-cache.js';

const caches: PoolCache[] = [];
after(async () => {
  await Promise.all(caches.map((c) => c.destroy()));
});

function cache(graceMs: number): PoolCache {
  const c = new PoolCache({ graceMs });
  caches.push(c);
  return c;
}

test('one pool per origin, reused', () => {
  const c = cache(1_000);
  c.retain(new Set(['http://127.0.0.1:1']));
  assert.equal(c.get('http://127.0.0.1:1'), c.get('http://127.0.0.1:1'));
  assert.notEqual(c.get('http://127.0.0.1:1'), c.get('http://127.0.0.1:2'));
});

test('an origin dropped by the live runtime is closed after the grace period', async () => {
  const c = cache(30);
  c.retain(new Set(['http://127.0.0.1:1', 'http://127.0.0.1:2']));
  const kept = c.get('http://127.0.0.1:1');
  const dropped = c.get('http://127.0.0.1:2');
  c.retain(new Set(['http://127.0.0.1:1']));
  assert.deepEqual(c.origins().sort(), ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
  await sleep(80);
  assert.deepEqual(c.origins(), ['http://127.0.0.1:1']);
  assert.equal(dropped.closed, true);
  assert.equal(kept.closed, false);
});

test('an origin referenced again within the grace period keeps its pool', async () => {
  const c = cache(30);
  c.retain(new Set(['http://127.0.0.1:1']));
  const pool = c.get('http://127.0.0.1:1');
  c.retain(new Set());
  c.retain(new Set(['http://127.0.0.1:1']));
  await sleep(80);
  assert.equal(c.get('http://127.0.0.1:1'), pool);
  assert.equal(pool.closed, false);
});

test('a pool opened for an unreferenced origin (an old runtime) is retired too', async () => {
  const c = cache(30);
  c.retain(new Set());
  const stray = c.get('http://127.0.0.1:3');
  await sleep(80);
  assert.deepEqual(c.origins(), []);
  assert.equal(stray.closed, true);
});
