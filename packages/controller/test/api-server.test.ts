// Tests for the HTTP API through fastify's inject: every route, bearer auth, 404s.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StaticConfig } from '@berth/config';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../src/api/api-server.js';
import { routerNameOf } from '../src/api/routers-view.js';
import { compile } from '../src/compiler/compile.js';
import type { CompileResult } from '../src/compiler/compile-result.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import type { NodeView } from '../src/distributor/node-view.js';
import { SnapshotStore } from '../src/store/snapshot-store.js';

const statics: StaticConfig = { entryPoints: { web: { address: ':80' } } };

function node(overrides: Partial<NodeView>): NodeView {
  return {
    id: 'n1',
    name: 'edge-1',
    address: '10.0.0.5:40000',
    connected: true,
    connectedSince: '2024-01-01T00:00:00.000Z',
    lastSeen: '2024-01-01T00:00:10.000Z',
    appliedVersion: 0,
    appliedEpoch: null,
    appliedHash: null,
    pendingVersion: null,
    lastAck: null,
    lastNack: null,
    listeners: [],
    certificate: null,
    ...overrides,
  };
}

describe('API', () => {
  let dir: string;
  let store: SnapshotStore;
  let result: CompileResult;
  let nodes: NodeView[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-api-'));
    store = await SnapshotStore.open(dir);
    result = compile(
      [
        {
          sourceKey: '/etc/berth/a.yml',
          config: {
            http: {
              routers: {
                api: { rule: 'Host(`api.test`)', service: 'api', middlewares: ['strip@file'] },
                broken: { rule: 'Host(`x`', service: 'api' },
              },
              services: { api: { loadBalancer: { servers: [{ url: 'http://10.0.0.1:8080' }] } } },
              middlewares: { strip: { stripPrefix: { prefixes: ['/api'] } } },
            },
          },
          errors: [],
          sources: {
            routers: {
              api: { provider: 'file', origin: '/etc/berth/a.yml', line: 3 },
              broken: { provider: 'file', origin: '/etc/berth/a.yml', line: 6 },
            },
            services: { api: { provider: 'file', origin: '/etc/berth/a.yml', line: 10 } },
            middlewares: { strip: { provider: 'file', origin: '/etc/berth/a.yml', line: 14 } },
          },
        },
      ],
      statics,
    );
    await store.publish(result.body);
    const current = store.current!;
    nodes = [
      node({
        id: 'n1',
        appliedVersion: current.version,
        appliedEpoch: current.epoch,
        appliedHash: current.hash,
        lastAck: { version: 1, at: '2024-01-01T00:00:05.000Z' },
        listeners: [{ entryPoint: 'web', address: '0.0.0.0:80' }],
      }),
      node({ id: 'n2', name: 'edge-2', connected: false, connectedSince: null }),
    ];
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function app(authToken?: string): FastifyInstance {
    return buildApi({
      store,
      nodes: { list: () => nodes },
      state: () => ({ compile: result, startedAt: '2024-01-01T00:00:00.000Z', epoch: store.epoch }),
      ...(authToken === undefined ? {} : { authToken }),
    });
  }

  it('answers /healthz', async () => {
    const res = await app().inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  it('reports status and convergence', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/status' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      version: 1,
      hash: store.current?.hash,
      epoch: store.epoch,
      startedAt: '2024-01-01T00:00:00.000Z',
      nodes: { connected: 1, total: 2 },
      converged: true,
      errors: 1,
    });
  });

  it('is not converged while a connected node lags', async () => {
    const saved = nodes;
    nodes = [...saved, node({ id: 'n3', name: 'edge-3', appliedVersion: 0 })];
    try {
      const res = await app().inject({ method: 'GET', url: '/api/v1/status' });
      assert.equal(res.json().converged, false);
    } finally {
      nodes = saved;
    }
  });

  it('lists nodes whole', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/nodes' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), nodes);
  });

  it('describes the current snapshot and per-node sync', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/snapshot' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.version, 1);
    assert.equal(body.epoch, store.epoch);
    assert.equal(body.createdAt, store.current?.createdAt);
    assert.deepEqual(body.history, store.history());
    assert.deepEqual(
      body.nodes.map((n: { id: string; inSync: boolean }) => [n.id, n.inSync]),
      [
        ['n1', true],
        ['n2', false],
      ],
    );
  });

  it('returns the full current snapshot', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/snapshot/body' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), store.current);
  });

  it('answers 404 on the body before the first publish', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'berth-api-empty-'));
    try {
      const empty = await SnapshotStore.open(emptyDir);
      const api = buildApi({
        store: empty,
        nodes: { list: () => [] },
        state: () => ({ compile: null, startedAt: '2024-01-01T00:00:00.000Z', epoch: empty.epoch }),
      });
      const res = await api.inject({ method: 'GET', url: '/api/v1/snapshot/body' });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().code, ErrorCodes.API_NO_SNAPSHOT);
      const status = await api.inject({ method: 'GET', url: '/api/v1/status' });
      assert.equal(status.json().version, 0);
      assert.equal(status.json().hash, null);
      assert.equal(status.json().converged, false);
      assert.deepEqual((await api.inject({ method: 'GET', url: '/api/v1/routers' })).json(), []);
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });

  it('lists routers, enabled and disabled, with sources', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/routers' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), result.routers);
    const broken = res.json().find((r: { name: string }) => r.name === 'broken@file');
    assert.equal(broken.status, 'disabled');
    assert.equal(broken.errors[0].source.line, 6);
  });

  it('lists a router a provider dropped (its rule does not parse) with status error and its errors', async () => {
    const ruleError = {
      code: 'BERTH_CONFIG_RULE_SYNTAX',
      path: 'http.routers.typo.rule',
      message: "router 'typo': rule \"Host(`a`\": expected ')'",
      source: { provider: 'file', origin: '/etc/berth/b.yml', line: 4 },
    };
    const tcpError = { code: 'BERTH_CONFIG_RULE_SYNTAX', path: 'tcp.routers.db.rule', message: 'bad' };
    const withDropped = compile(
      [
        {
          sourceKey: '/etc/berth/b.yml',
          config: {
            http: {
              routers: { zz: { rule: 'Host(`zz.test`)', service: 'svc' } },
              services: { svc: { loadBalancer: { servers: [{ url: 'http://10.0.0.1:80' }] } } },
            },
          },
          errors: [ruleError, tcpError],
          sources: { routers: {}, services: {} },
        },
      ],
      statics,
    );
    const api = buildApi({
      store,
      nodes: { list: () => [] },
      state: () => ({ compile: withDropped, startedAt: '2024-01-01T00:00:00.000Z', epoch: store.epoch }),
    });
    const routers = (await api.inject({ method: 'GET', url: '/api/v1/routers' })).json();
    assert.deepEqual(
      routers.map((r: { name: string; status: string }) => [r.name, r.status]),
      [
        // The provider's error names `typo` as written; its source puts it in the file provider.
        ['typo@file', 'error'],
        ['zz@file', 'enabled'],
      ],
    );
    assert.deepEqual(routers[0].errors, [ruleError]);
    assert.deepEqual(routers[0].source, ruleError.source);
    const tcp = (await api.inject({ method: 'GET', url: '/api/v1/tcp/routers' })).json();
    assert.deepEqual(
      tcp.map((r: { name: string; status: string }) => [r.name, r.status]),
      [['db', 'error']],
    );
  });

  it('names a router by an error path, whatever the case of the schema keys', () => {
    assert.equal(routerNameOf('http.routers.web.rule', 'http.routers.'), 'web');
    assert.equal(routerNameOf('HTTP.Routers.Web.tls.options', 'http.routers.'), 'Web');
    assert.equal(routerNameOf('http.routers.web[0]', 'http.routers.'), 'web');
    assert.equal(routerNameOf('http.routers', 'http.routers.'), null);
    assert.equal(routerNameOf('http.services.web.rule', 'http.routers.'), null);
  });

  it('lists services', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/services' });
    // No node has reported stats, so no per-node health yet.
    assert.deepEqual(
      res.json(),
      result.services.map((svc) => ({ ...svc, health: [] })),
    );
    assert.deepEqual(res.json()[0].usedBy, ['api@file']);
  });

  it('lists middlewares with their kind, users and source', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/middlewares' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), result.middlewares);
    assert.deepEqual(res.json(), [
      {
        name: 'strip@file',
        type: 'stripPrefix',
        usedBy: ['api@file'],
        status: 'enabled',
        errors: [],
        source: { provider: 'file', origin: '/etc/berth/a.yml', line: 14 },
      },
    ]);
  });

  it('lists every error with its source', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/errors' });
    assert.deepEqual(res.json(), result.errors);
    assert.equal(res.json()[0].source.origin, '/etc/berth/a.yml');
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/nope' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, ErrorCodes.API_NOT_FOUND);
  });

  it('enforces the bearer token on everything but /healthz', async () => {
    const api = app('s3cret-token');
    assert.equal((await api.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    for (const url of [
      '/api/v1/status',
      '/api/v1/nodes',
      '/api/v1/snapshot/body',
      '/api/v1/errors',
      '/nope',
    ]) {
      const none = await api.inject({ method: 'GET', url });
      assert.equal(none.statusCode, 401, url);
      assert.deepEqual(Object.keys(none.json()).sort(), ['code', 'message']);
      assert.equal(none.json().code, ErrorCodes.API_UNAUTHORIZED);
      const wrong = await api.inject({
        method: 'GET',
        url,
        headers: { authorization: 'Bearer s3cret-tokem' },
      });
      assert.equal(wrong.statusCode, 401, url);
      const basic = await api.inject({
        method: 'GET',
        url,
        headers: { authorization: 'Basic s3cret-token' },
      });
      assert.equal(basic.statusCode, 401, url);
    }
    const ok = await api.inject({
      method: 'GET',
      url: '/api/v1/status',
      headers: { authorization: 'Bearer s3cret-token' },
    });
    assert.equal(ok.statusCode, 200);
    const missing = await api.inject({
      method: 'GET',
      url: '/nope',
      headers: { authorization: 'bearer s3cret-token' },
    });
    assert.equal(missing.statusCode, 404);
  });
});
