// An errors middleware calls a service: a new snapshot that rebuilds that service rebuilds the middleware too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeltaOp, SnapshotBody } from '@berth/protocol';
import { applyDelta } from '@berth/protocol';
import { middlewareFactories } from '../src/http/middlewares/index.js';
import { buildRuntime, rebuildRuntime } from '../src/runtime/build-runtime.js';
import { silent } from './support/plane.js';
import { body, service } from './support/snapshot.js';

const deps = { logger: silent, middlewares: middlewareFactories };

function snapshot(): SnapshotBody {
  const b = body(
    {
      app: { rule: 'Host(`app.test`)', service: 'app', middlewares: ['oops'] },
      other: { rule: 'Host(`other.test`)', service: 'app', middlewares: ['hdr'] },
    },
    { app: service('http://127.0.0.1:9001'), pages: service('http://127.0.0.1:9002') },
  );
  b.http.middlewares = {
    oops: { errors: { status: ['500-599'], service: 'pages' } },
    hdr: { headers: { customRequestHeaders: { 'x-a': '1' } } },
  };
  return b;
}

describe('errors middleware across snapshots', () => {
  it('is rebuilt when its service changes, and reused, with its neighbours, when nothing it names does', () => {
    const first = buildRuntime(snapshot(), deps);
    assert.ok(first.ok);
    const oops = first.memo.middlewares.get('oops');
    const hdr = first.memo.middlewares.get('hdr');
    assert.ok(oops && hdr);
    assert.equal(oops.services[0]?.[1], first.runtime.services.get('pages'));

    const same = buildRuntime(snapshot(), deps, first.memo);
    assert.ok(same.ok);
    assert.equal(same.memo.middlewares.get('oops')?.built, oops.built, 'unchanged: the same instance');

    const ops: DeltaOp[] = [
      { op: 'set', path: ['http', 'services', 'pages'], value: service('http://127.0.0.1:9003') },
    ];
    const changed = applyDelta(snapshot(), ops);
    // A delta cannot follow a service into the middlewares calling it: the node builds in full.
    assert.equal(rebuildRuntime(changed, ops, same.memo), undefined);
    const full = buildRuntime(changed, deps, same.memo);
    assert.ok(full.ok);
    const rebuilt = full.memo.middlewares.get('oops');
    assert.notEqual(rebuilt?.built, oops.built, 'rebuilt to call the new service');
    assert.equal(rebuilt?.services[0]?.[1], full.runtime.services.get('pages'));
    assert.equal(full.memo.middlewares.get('hdr')?.built, hdr.built, 'its neighbour keeps its instance');
  });

  it('still takes a partial rebuild for a service no errors middleware names', () => {
    const first = buildRuntime(snapshot(), deps);
    assert.ok(first.ok);
    const ops: DeltaOp[] = [
      { op: 'set', path: ['http', 'services', 'app'], value: service('http://127.0.0.1:9004') },
    ];
    const result = rebuildRuntime(applyDelta(snapshot(), ops), ops, first.memo);
    assert.ok(result?.ok);
  });
});
