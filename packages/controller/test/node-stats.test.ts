// Tests for node stats at the controller: the distributor keeps each node's latest, the API shows them.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StaticConfig } from '@berth/config';
import { encodeMessage, type NodeStats } from '@berth/protocol';
import { buildApi } from '../src/api/api-server.js';
import { compile } from '../src/compiler/compile.js';
import type { CompileResult } from '../src/compiler/compile-result.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import type { Distributor } from '../src/distributor/distributor.js';
import type { NodeView } from '../src/distributor/node-view.js';
import { SnapshotStore } from '../src/store/snapshot-store.js';
import { joinAs, startTestDistributor, type TestDistributor, until } from './support/distributor-harness.js';

const T = Date.parse('2024-05-01T12:00:00.000Z');

const statsA: NodeStats = {
  at: T,
  servers: [
    { service: 'api@file', url: 'http://10.0.0.1:8080', status: 'up', since: T - 60_000 },
    { service: 'api@file', url: 'http://10.0.0.2:8080', status: 'down', since: T - 5_000 },
    { service: 'web', url: 'http://10.0.0.3', status: 'ejected', since: T - 1_000 },
  ],
  requests: [
    { router: 'api@file', service: 'api@file', statusClass: '2xx', count: 90 },
    { router: 'api@file', service: 'api@file', statusClass: '5xx', count: 4 },
    { router: '', service: '', statusClass: '4xx', count: 6 },
  ],
  openConnections: 12,
};

describe('the distributor with node stats', () => {
  let t: TestDistributor;
  let dist: Distributor;

  before(async () => {
    t = await startTestDistributor(1000);
    dist = t.dist;
  });

  after(() => t.close());

  const joinNode = (name: string) => joinAs(t, name);

  it('keeps the latest stats of each node, and keeps them as last known after it leaves', async () => {
    const ws = await joinNode('reporter');
    const view = () => dist.list().find((n) => n.name === 'reporter');
    await until(() => view() !== undefined, 'the node to join');
    assert.equal(view()?.stats, undefined, 'no stats before the first report');
    ws.send(encodeMessage({ type: 'stats', ...statsA, openConnections: 1 }));
    ws.send(encodeMessage({ type: 'stats', ...statsA }));
    await until(() => view()?.stats?.openConnections === 12, 'the second report');
    const stats = view()?.stats;
    assert.deepEqual({ ...stats, receivedAt: undefined }, { ...statsA, receivedAt: undefined });
    assert.ok(Date.parse(stats?.receivedAt ?? '') > Date.now() - 60_000);
    ws.close();
    await until(() => view()?.connected === false, 'the node to leave');
    assert.equal(view()?.stats?.openConnections, 12);
  });

  it('closes the connection of a node that sends malformed stats', async () => {
    const ws = await joinNode('garbled');
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(
      JSON.stringify({
        type: 'stats',
        at: 1,
        servers: [{ status: 'sick' }],
        requests: [],
        openConnections: 0,
      }),
    );
    assert.equal(await closed, 1008);
    assert.equal(dist.list().find((n) => n.name === 'garbled')?.stats, undefined);
  });
});

describe('the API with node stats', () => {
  const statics: StaticConfig = { entryPoints: { web: { address: ':80' } } };
  let dir: string;
  let store: SnapshotStore;
  let result: CompileResult;
  let nodes: NodeView[];

  const view = (id: string, name: string, extra: Partial<NodeView> = {}): NodeView => ({
    id,
    name,
    address: '10.0.0.5:40000',
    connected: true,
    connectedSince: '2024-05-01T11:00:00.000Z',
    lastSeen: '2024-05-01T12:00:00.000Z',
    appliedVersion: 1,
    appliedEpoch: null,
    appliedHash: null,
    pendingVersion: null,
    lastAck: null,
    lastNack: null,
    listeners: [],
    certificate: null,
    ...extra,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-api-stats-'));
    store = await SnapshotStore.open(dir);
    result = compile(
      [
        {
          sourceKey: 'a.yml',
          config: {
            http: {
              routers: { api: { rule: 'Host(`api.test`)', service: 'api' } },
              services: {
                api: {
                  loadBalancer: {
                    servers: [{ url: 'http://10.0.0.1:8080' }, { url: 'http://10.0.0.2:8080' }],
                  },
                },
                idle: { loadBalancer: { servers: [{ url: 'http://10.0.0.9' }] } },
              },
            },
          },
          errors: [],
          sources: { routers: {}, services: {} },
        },
      ],
      statics,
    );
    await store.publish(result.body);
    nodes = [
      view('n1', 'edge-1', { stats: { ...statsA, receivedAt: '2024-05-01T12:00:01.000Z' } }),
      view('n2', 'edge-2', {
        connected: false,
        connectedSince: null,
        stats: {
          at: T - 30_000,
          servers: [{ service: 'api@file', url: 'http://10.0.0.1:8080', status: 'down', since: T - 40_000 }],
          requests: [],
          openConnections: 0,
          receivedAt: '2024-05-01T11:59:31.000Z',
        },
      }),
      view('n3', 'edge-3'),
    ];
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const app = () =>
    buildApi({
      store,
      nodes: { list: () => nodes },
      state: () => ({ compile: result, startedAt: '2024-05-01T11:00:00.000Z', epoch: store.epoch }),
    });

  it('shows each service with every reporting node’s view of its servers', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/services' });
    assert.equal(res.statusCode, 200);
    const services = res.json() as { name: string; health: unknown }[];
    assert.deepEqual(services.find((s) => s.name === 'api@file')?.health, [
      {
        nodeId: 'n1',
        nodeName: 'edge-1',
        connected: true,
        at: '2024-05-01T12:00:00.000Z',
        servers: [
          { url: 'http://10.0.0.1:8080', status: 'up', since: '2024-05-01T11:59:00.000Z' },
          { url: 'http://10.0.0.2:8080', status: 'down', since: '2024-05-01T11:59:55.000Z' },
        ],
      },
      {
        nodeId: 'n2',
        nodeName: 'edge-2',
        connected: false,
        at: '2024-05-01T11:59:30.000Z',
        servers: [{ url: 'http://10.0.0.1:8080', status: 'down', since: '2024-05-01T11:59:20.000Z' }],
      },
    ]);
    assert.deepEqual(services.find((s) => s.name === 'idle@file')?.health, []);
  });

  it('adds a stats summary to the nodes that reported', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/nodes' });
    assert.equal(res.statusCode, 200);
    const list = res.json() as (NodeView & { stats?: Record<string, unknown> })[];
    assert.deepEqual(list[0]?.stats, {
      at: '2024-05-01T12:00:00.000Z',
      receivedAt: '2024-05-01T12:00:01.000Z',
      requests: 100,
      serverErrors: 4,
      openConnections: 12,
      servers: { up: 1, down: 1, ejected: 1 },
    });
    assert.equal(list[1]?.stats?.['requests'], 0);
    assert.equal('stats' in (list[2] ?? {}), false, 'a node that never reported has no summary');
    assert.equal(list[0]?.id, 'n1');
  });

  it('returns one node’s full latest stats', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/nodes/n1/stats' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      nodeId: 'n1',
      nodeName: 'edge-1',
      at: '2024-05-01T12:00:00.000Z',
      receivedAt: '2024-05-01T12:00:01.000Z',
      openConnections: 12,
      servers: [
        { service: 'api@file', url: 'http://10.0.0.1:8080', status: 'up', since: '2024-05-01T11:59:00.000Z' },
        {
          service: 'api@file',
          url: 'http://10.0.0.2:8080',
          status: 'down',
          since: '2024-05-01T11:59:55.000Z',
        },
        { service: 'web', url: 'http://10.0.0.3', status: 'ejected', since: '2024-05-01T11:59:59.000Z' },
      ],
      requests: statsA.requests,
    });
  });

  it('answers 404 with a stable code for an unknown node or one without stats', async () => {
    const unknown = await app().inject({ method: 'GET', url: '/api/v1/nodes/nope/stats' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, ErrorCodes.API_NODE_NOT_FOUND);
    const silent = await app().inject({ method: 'GET', url: '/api/v1/nodes/n3/stats' });
    assert.equal(silent.statusCode, 404);
    assert.equal(silent.json().code, ErrorCodes.API_NO_STATS);
  });

  it('needs the bearer token for node stats', async () => {
    const api = buildApi({
      store,
      nodes: { list: () => nodes },
      state: () => ({ compile: result, startedAt: '2024-05-01T11:00:00.000Z', epoch: store.epoch }),
      authToken: 'tok',
    });
    const res = await api.inject({ method: 'GET', url: '/api/v1/nodes/n1/stats' });
    assert.equal(res.statusCode, 401);
  });
});
