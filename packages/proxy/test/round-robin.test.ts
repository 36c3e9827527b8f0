// Smooth weighted round robin: exact shares, no bursts, zero weights skipped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundRobin } from '../src/balancer/round-robin.js';

interface Item {
  id: string;
  weight?: number;
}

function counts(rr: RoundRobin<Item>, picks: number): Map<string, number> {
  const seen = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const id = rr.next()?.id ?? 'none';
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}

test('weights 3:1 over 400 picks give exactly 300 and 100', () => {
  const rr = new RoundRobin<Item>([
    { id: 'a', weight: 3 },
    { id: 'b', weight: 1 },
  ]);
  assert.deepEqual(
    counts(rr, 400),
    new Map([
      ['a', 300],
      ['b', 100],
    ]),
  );
});

test('smooth: a 3:1 split interleaves instead of bursting', () => {
  const rr = new RoundRobin<Item>([
    { id: 'a', weight: 3 },
    { id: 'b', weight: 1 },
  ]);
  const order = Array.from({ length: 8 }, () => rr.next()?.id).join('');
  assert.equal(order, 'aabaaaba');
});

test('default weight is 1 and equal weights alternate', () => {
  const rr = new RoundRobin<Item>([{ id: 'a' }, { id: 'b' }]);
  assert.deepEqual(
    Array.from({ length: 4 }, () => rr.next()?.id),
    ['a', 'b', 'a', 'b'],
  );
});

test('weight 0 is never picked; all zero or empty yields undefined', () => {
  const rr = new RoundRobin<Item>([
    { id: 'a', weight: 0 },
    { id: 'b', weight: 2 },
  ]);
  assert.deepEqual(counts(rr, 10), new Map([['b', 10]]));
  assert.equal(new RoundRobin<Item>([{ id: 'a', weight: 0 }]).next(), undefined);
  assert.equal(new RoundRobin<Item>([]).next(), undefined);
});
