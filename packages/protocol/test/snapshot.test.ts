import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalJson,
  hashBody,
  SNAPSHOT_SCHEMA,
  type Snapshot,
  type SnapshotBody,
  verifySnapshot,
} from '../src/index.js';

const body = (): SnapshotBody => ({
  schema: SNAPSHOT_SCHEMA,
  entryPoints: { web: { address: ':80' } },
  http: {
    routers: {
      b: { rule: 'Host(`b`)', service: 's' },
      a: { rule: 'Host(`a`)', service: 's', entryPoints: ['web'] },
    },
    services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } } },
  },
});

describe('snapshot hashing', () => {
  it('gives equal hashes to equal bodies whatever their key order', () => {
    const one = body();
    const two: SnapshotBody = {
      http: {
        services: one.http.services,
        routers: { a: one.http.routers['a']!, b: one.http.routers['b']! },
      },
      entryPoints: one.entryPoints,
      schema: one.schema,
    };
    assert.equal(hashBody(one), hashBody(two));
    assert.match(hashBody(one), /^[0-9a-f]{64}$/);
  });

  it('keeps array order significant and drops undefined members', () => {
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
    assert.equal(canonicalJson({ a: 1, b: undefined }), '{"a":1}');
    assert.equal(canonicalJson({ z: { y: 1, x: [{ b: 1, a: 2 }] } }), '{"z":{"x":[{"a":2,"b":1}],"y":1}}');
  });

  it('changes the hash when anything in the body changes', () => {
    const changed = body();
    changed.http.services['s']!.loadBalancer!.servers[0]!.url = 'http://127.0.0.1:2';
    assert.notEqual(hashBody(body()), hashBody(changed));
  });

  it('verifies an envelope against its body', () => {
    const b = body();
    const snap: Snapshot = {
      epoch: 'e',
      version: 1,
      hash: hashBody(b),
      createdAt: new Date().toISOString(),
      body: b,
    };
    assert.equal(verifySnapshot(snap), true);
    snap.body.http.routers['a']!.rule = 'Host(`evil`)';
    assert.equal(verifySnapshot(snap), false);
  });
});
