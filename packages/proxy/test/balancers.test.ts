// One contract suite for every balancing strategy, then what is particular to p2c.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Balancer } from '../src/balancer/balancer.js';
import { PowerOfTwoChoices } from '../src/balancer/power-of-two-choices.js';
import { RoundRobin } from '../src/balancer/round-robin.js';
import { prng } from './support/prng.js';

interface Item {
  id: string;
  weight?: number;
}

const strategies: [string, (items: Item[]) => Balancer<Item>][] = [
  ['smooth weighted round robin', (items) => new RoundRobin(items)],
  ['power of two choices', (items) => new PowerOfTwoChoices(items, { random: prng(7) })],
];

function pick(balancer: Balancer<Item>, n: number, available?: (item: Item) => boolean): Map<string, number> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const item = balancer.next(available);
    const id = item?.id ?? 'none';
    if (item) balancer.release?.(item);
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}

for (const [label, make] of strategies) {
  describe(`${label} (balancer contract)`, () => {
    it('spreads requests over every available server', () => {
      const seen = pick(make([{ id: 'a' }, { id: 'b' }, { id: 'c' }]), 300);
      assert.deepEqual([...seen.keys()].sort(), ['a', 'b', 'c']);
    });

    it('never picks a server the health registry says is unavailable', () => {
      const seen = pick(make([{ id: 'a' }, { id: 'b' }, { id: 'c' }]), 300, (item) => item.id !== 'b');
      assert.equal(seen.get('b'), undefined);
      assert.ok((seen.get('a') ?? 0) > 0 && (seen.get('c') ?? 0) > 0);
    });

    it('returns undefined when no server is available or there is none', () => {
      assert.equal(
        make([{ id: 'a' }, { id: 'b' }]).next(() => false),
        undefined,
      );
      assert.equal(
        make([{ id: 'a' }]).next(() => false),
        undefined,
      );
      assert.equal(make([]).next(), undefined);
    });

    it('comes back to a server once it is available again', () => {
      const balancer = make([{ id: 'a' }, { id: 'b' }]);
      assert.equal(pick(balancer, 10, (item) => item.id === 'a').get('a'), 10);
      assert.ok((pick(balancer, 20).get('b') ?? 0) > 0);
    });
  });
}

describe('smooth weighted round robin with health', () => {
  it('keeps the exact 3:1 share between the servers left when a third is down', () => {
    const rr = new RoundRobin<Item>([
      { id: 'a', weight: 3 },
      { id: 'down', weight: 5 },
      { id: 'b', weight: 1 },
    ]);
    const seen = pick(rr, 400, (item) => item.id !== 'down');
    assert.deepEqual(
      seen,
      new Map([
        ['a', 300],
        ['b', 100],
      ]),
    );
  });
});

describe('power of two choices', () => {
  it('sends the request to the less loaded of the two servers it draws', () => {
    const load: Record<string, number> = { a: 5, b: 1, c: 9 };
    const p2c = new PowerOfTwoChoices<Item>([{ id: 'a' }, { id: 'b' }, { id: 'c' }], {
      random: prng(42),
      inFlight: (item) => load[item.id] ?? 0,
    });
    const seen = pick(p2c, 3000);
    // c is never the less loaded of two distinct draws; a wins only against c, b always wins.
    assert.equal(seen.get('c'), undefined);
    assert.ok((seen.get('b') ?? 0) > (seen.get('a') ?? 0));
    // b is in 2 of the 3 equally likely pairs, a in the remaining one.
    const b = seen.get('b') ?? 0;
    assert.ok(b > 1800 && b < 2200, `b got ${b} of 3000`);
  });

  it('draws two distinct servers, so of two the less loaded always wins', () => {
    const p2c = new PowerOfTwoChoices<Item>([{ id: 'busy' }, { id: 'idle' }], {
      random: prng(1),
      inFlight: (item) => (item.id === 'busy' ? 3 : 0),
    });
    assert.deepEqual(pick(p2c, 100), new Map([['idle', 100]]));
  });

  it('counts requests in flight itself: picks not yet released steer the next ones away', () => {
    const p2c = new PowerOfTwoChoices<Item>([{ id: 'a' }, { id: 'b' }], { random: prng(3) });
    const first = p2c.next()!;
    const held = [first];
    // With `first` busy, the other server takes the next request.
    const second = p2c.next()!;
    assert.notEqual(second.id, first.id);
    held.push(second);
    assert.equal(p2c.inFlight(first), 1);
    for (const item of held) p2c.release(item);
    assert.equal(p2c.inFlight(first), 0);
    p2c.acquire(first);
    assert.equal(p2c.inFlight(first), 1);
    // Releasing more than was taken never goes below zero.
    p2c.release(first);
    p2c.release(first);
    assert.equal(p2c.inFlight(first), 0);
  });

  it('replays the same choices for the same random source', () => {
    const run = (): string[] => {
      const p2c = new PowerOfTwoChoices<Item>([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }], {
        random: prng(99),
      });
      return Array.from({ length: 50 }, () => p2c.next()!.id);
    };
    assert.deepEqual(run(), run());
  });
});
