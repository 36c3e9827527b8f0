// Rendezvous hashing as Traefik's hrw balancer scores it: FNV-1a 64 exactly, and ranks that depend on the key alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnv1a64, hrwScore, pickHighestRandomWeight } from '../src/balancer/highest-random-weight.js';

/** The reference, with BigInt. */
function fnvReference(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = BigInt.asUintN(64, h * 0x100000001b3n);
  }
  return h;
}

const asBigInt = ([h0, h1, h2, h3]: [number, number, number, number]): bigint =>
  (BigInt(h3) << 48n) | (BigInt(h2) << 32n) | (BigInt(h1) << 16n) | BigInt(h0);

describe('highest random weight', () => {
  it('hashes with 64-bit FNV-1a', () => {
    assert.equal(asBigInt(fnv1a64('')), 0xcbf29ce484222325n);
    assert.equal(asBigInt(fnv1a64('a')), 0xaf63dc4c8601ec8cn);
    assert.equal(asBigInt(fnv1a64('foobar')), 0x85944171f73967e8n);
    for (const text of ['127.0.0.1web', '::1svc-é', '10.1.2.3http://10.0.0.1:80', 'x'.repeat(300)]) {
      assert.equal(asBigInt(fnv1a64(text)), fnvReference(text), text);
    }
  });

  it('scores weight / -ln(hash / 2^64), as Traefik', () => {
    const key = '192.0.2.7';
    const fraction = Number(fnvReference(`${key}api`)) / 2 ** 64;
    assert.equal(hrwScore(key, 'api', 3), (1 / -Math.log(fraction)) * 3);
  });

  it('picks the same target for a key whatever the order, skips unavailable and zero-weight ones', () => {
    const names = ['a', 'b', 'c', 'd'];
    for (let i = 0; i < 50; i++) {
      const key = `10.0.0.${i}`;
      const pick = pickHighestRandomWeight(
        names,
        key,
        (n) => n,
        () => 1,
      );
      assert.equal(
        pickHighestRandomWeight(
          [...names].reverse(),
          key,
          (n) => n,
          () => 1,
        ),
        pick,
      );
      const without = pickHighestRandomWeight(
        names,
        key,
        (n) => n,
        () => 1,
        (n) => n !== pick,
      );
      assert.notEqual(without, pick);
      assert.equal(
        pickHighestRandomWeight(
          names,
          key,
          (n) => n,
          (n) => (n === pick ? 0 : 1),
        ),
        without,
      );
    }
    assert.equal(
      pickHighestRandomWeight(
        names,
        'k',
        (n) => n,
        () => 1,
        () => false,
      ),
      undefined,
    );
  });
});
