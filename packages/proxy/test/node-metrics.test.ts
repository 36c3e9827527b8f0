// Tests for the node's metrics: per-request recording, open connections, server health, the scrape endpoint.
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import type { ServerStatusReport } from '@berth/protocol';
import { EXPOSITION_CONTENT_TYPE } from '../src/observability/metrics.js';
import {
  METRICS_ADDRESS_INVALID,
  type NodeHealth,
  startMetricsServer,
} from '../src/observability/metrics-server.js';
import { NodeMetrics, recordRequest } from '../src/observability/node-metrics.js';
import { nodeStats } from '../src/observability/node-stats.js';
import { parseExposition, type Sample } from './support/exposition.js';
import { captureLog, waitFor } from './support/log-capture.js';
import { stubContext } from './support/request-context.js';

const T0 = 10_000_000_000n;

function sample(
  text: string,
  family: string,
  name: string,
  labels: Record<string, string>,
): Sample | undefined {
  return parseExposition(text)
    .get(family)
    ?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function get(port: number, path: string, method = 'GET') {
  return new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('node metrics', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  it('count requests by entry point, router, service and code, with a latency histogram', () => {
    const m = new NodeMetrics();
    const ok = { router: 'api', service: 'api-svc', status: 200 };
    recordRequest(m, stubContext({ startedAt: T0, log: ok }), T0 + 3_000_000n);
    recordRequest(m, stubContext({ startedAt: T0, log: ok }), T0 + 300_000_000n);
    recordRequest(m, stubContext({ startedAt: T0, log: { ...ok, status: 502 } }), T0 + 1_000_000n);
    recordRequest(m, stubContext({ startedAt: T0, log: { status: 404, error: 'no_route' } }), T0 + 1n);
    recordRequest(m, stubContext({ startedAt: T0, log: { router: 'api', service: 'api-svc' } }), T0 + 1n);
    const text = m.expose();
    const count = (code: string, router = 'api', service = 'api-svc') =>
      sample(text, 'berth_requests_total', 'berth_requests_total', {
        entrypoint: 'web',
        router,
        service,
        code,
      })?.value;
    assert.equal(count('200'), 2);
    assert.equal(count('502'), 1);
    assert.equal(count('404', '', ''), 1, 'no route: empty router and service');
    assert.equal(count('0'), 1, 'no status: the client left first');
    const labels = { entrypoint: 'web', router: 'api', service: 'api-svc' };
    const d = 'berth_request_duration_seconds';
    assert.equal(sample(text, d, `${d}_count`, labels)?.value, 4);
    assert.equal(sample(text, d, `${d}_bucket`, { ...labels, le: '0.005' })?.value, 3);
    assert.equal(sample(text, d, `${d}_bucket`, { ...labels, le: '0.25' })?.value, 3);
    assert.equal(sample(text, d, `${d}_bucket`, { ...labels, le: '0.5' })?.value, 4);
    assert.equal(parseExposition(text).get(d)?.type, 'histogram');
  });

  it('sum requests per router, service and status class for the controller', () => {
    const m = new NodeMetrics();
    const rec = (ep: string, status: number, router = 'r', service = 's') =>
      recordRequest(m, stubContext({ startedAt: T0, log: { entryPoint: ep, router, service, status } }), T0);
    rec('web', 200);
    rec('websecure', 204);
    rec('web', 301);
    rec('web', 503);
    rec('web', 404, '', '');
    assert.deepEqual(
      m.requestCounts().sort((a, b) => (a.router + a.statusClass).localeCompare(b.router + b.statusClass)),
      [
        { router: '', service: '', statusClass: '4xx', count: 1 },
        { router: 'r', service: 's', statusClass: '2xx', count: 2 },
        { router: 'r', service: 's', statusClass: '3xx', count: 1 },
        { router: 'r', service: 's', statusClass: '5xx', count: 1 },
      ],
    );
  });

  it('forget the series of routers and services a new snapshot removed', () => {
    const m = new NodeMetrics();
    const rec = (router: string, service: string, status: number) =>
      recordRequest(m, stubContext({ startedAt: T0, log: { router, service, status } }), T0);
    rec('keep', 'svc', 200);
    rec('gone', 'svc', 200);
    rec('gone', 'svc', 503);
    rec('moved', 'old-svc', 200);
    rec('', '', 404);
    m.retain({
      schema: 1,
      entryPoints: {},
      http: {
        routers: {
          keep: { rule: 'Path(`/`)', service: 'svc' },
          moved: { rule: 'Path(`/m`)', service: 'svc' },
        },
        services: { svc: { loadBalancer: { servers: [] } } },
      },
    });
    const samples = parseExposition(m.expose()).get('berth_requests_total')?.samples ?? [];
    assert.deepEqual(
      samples.map((s) => [s.labels['router'], s.labels['service'], s.labels['code']]),
      [
        ['keep', 'svc', '200'],
        ['', '', '404'],
      ],
    );
    const durations = parseExposition(m.expose()).get('berth_request_duration_seconds')?.samples ?? [];
    assert.deepEqual([...new Set(durations.map((s) => s.labels['router']))], ['keep', '']);
    assert.equal(m.requestCounts().length, 2);
    rec('gone', 'svc', 200);
    assert.equal(m.requestCounts().length, 3, 'a late request of a removed router counts afresh');
  });

  it('track open connections of a real listener', async () => {
    const m = new NodeMetrics();
    const server = createServer((req, res) => {
      req.resume();
      res.end('ok');
    });
    m.trackConnections(server, 'web');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const port = (server.address() as AddressInfo).port;
    const open = () =>
      sample(m.expose(), 'berth_open_connections', 'berth_open_connections', { entrypoint: 'web' })?.value;
    const sockets: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      sockets.push(s);
    }
    await waitFor(() => open() === 3, 'three open connections');
    assert.equal(m.openConnections(), 3);
    sockets[0]?.destroy();
    sockets[1]?.destroy();
    await waitFor(() => open() === 1, 'one open connection');
    sockets[2]?.destroy();
    await waitFor(() => m.openConnections() === 0, 'no open connection');
  });

  it('read server health at each scrape and count snapshot applies', () => {
    const m = new NodeMetrics();
    let report: ServerStatusReport[] = [
      { service: 'api', url: 'http://10.0.0.1', status: 'up', since: 1 },
      { service: 'api', url: 'http://10.0.0.2', status: 'down', since: 1 },
      { service: 'api', url: 'http://10.0.0.3', status: 'ejected', since: 1 },
    ];
    m.watchHealth({ report: () => report });
    m.snapshotApplied('ok', 7);
    m.snapshotApplied('error');
    m.snapshotApplied('ok', 8);
    let text = m.expose();
    const up = (url: string) =>
      sample(text, 'berth_server_up', 'berth_server_up', { service: 'api', url })?.value;
    assert.deepEqual(['http://10.0.0.1', 'http://10.0.0.2', 'http://10.0.0.3'].map(up), [1, 0, 0]);
    assert.equal(sample(text, 'berth_snapshot_version', 'berth_snapshot_version', {})?.value, 8);
    const applies = (result: string) =>
      sample(text, 'berth_snapshot_applies_total', 'berth_snapshot_applies_total', { result })?.value;
    assert.equal(applies('ok'), 2);
    assert.equal(applies('error'), 1);
    report = [{ service: 'api', url: 'http://10.0.0.2', status: 'up', since: 2 }];
    text = m.expose();
    assert.equal(up('http://10.0.0.1'), undefined, 'a removed server disappears');
    assert.equal(up('http://10.0.0.2'), 1);
    for (const name of [
      'berth_requests_total',
      'berth_request_duration_seconds',
      'berth_open_connections',
      'berth_server_up',
      'berth_snapshot_version',
      'berth_snapshot_applies_total',
    ]) {
      assert.ok(parseExposition(text).has(name), name);
    }
  });

  it('assemble the stats message body', () => {
    const m = new NodeMetrics();
    recordRequest(m, stubContext({ startedAt: T0, log: { router: 'r', service: 's', status: 200 } }), T0);
    const servers: ServerStatusReport[] = [{ service: 's', url: 'http://10.0.0.1', status: 'up', since: 5 }];
    assert.deepEqual(
      nodeStats(m, { report: () => servers }, () => 1234.5),
      {
        at: 1234,
        servers,
        requests: [{ router: 'r', service: 's', statusClass: '2xx', count: 1 }],
        openConnections: 0,
      },
    );
  });

  it('serve /metrics and /healthz over HTTP on a node-local address', async () => {
    const m = new NodeMetrics();
    recordRequest(m, stubContext({ startedAt: T0, log: { router: 'r', service: 's', status: 200 } }), T0);
    const { logger } = captureLog();
    const server = await startMetricsServer({
      address: '127.0.0.1:0',
      metrics: m,
      health: () => ({ status: 'ok', version: 3, source: 'controller' }),
      logger,
    });
    cleanup.push(() => server.close());
    const port = server.address.port;
    const metrics = await get(port, '/metrics');
    assert.equal(metrics.status, 200);
    assert.equal(metrics.type, EXPOSITION_CONTENT_TYPE);
    assert.equal(
      sample(metrics.body, 'berth_requests_total', 'berth_requests_total', { router: 'r', code: '200' })
        ?.value,
      1,
    );
    assert.equal((await get(port, '/metrics?x=1')).status, 200);
    assert.equal((await get(port, '/other')).status, 404);
    assert.equal((await get(port, '/metrics', 'POST')).status, 405);
  });

  it('answer /healthz 503 starting before the node applied a snapshot, then 200 with its version and source', async () => {
    const { logger } = captureLog();
    let health: NodeHealth = { status: 'starting' };
    const server = await startMetricsServer({
      address: '127.0.0.1:0',
      metrics: new NodeMetrics(),
      health: () => health,
      logger,
    });
    cleanup.push(() => server.close());
    const port = server.address.port;
    assert.deepEqual(await get(port, '/healthz'), {
      status: 503,
      type: 'application/json',
      body: '{"status":"starting"}',
    });
    health = { status: 'ok', version: 4, source: 'cache' };
    assert.deepEqual(await get(port, '/healthz'), {
      status: 200,
      type: 'application/json',
      body: '{"status":"ok","version":4,"source":"cache"}',
    });
    health = { status: 'ok', version: 5, source: 'controller' };
    assert.deepEqual(JSON.parse((await get(port, '/healthz?probe=1')).body), {
      status: 'ok',
      version: 5,
      source: 'controller',
    });
    assert.deepEqual(await get(port, '/healthz', 'HEAD'), {
      status: 200,
      type: 'application/json',
      body: '',
    });
  });

  it('refuse a bad metrics address with a stable code', async () => {
    const { logger } = captureLog();
    await assert.rejects(
      startMetricsServer({
        address: 'nowhere',
        metrics: new NodeMetrics(),
        health: () => ({ status: 'starting' }),
        logger,
      }),
      (err: Error & { code?: string }) => err.code === METRICS_ADDRESS_INVALID,
    );
  });
});

describe('TCP connections in the node metrics', () => {
  it('shows the open connections of each TCP router at scrape time', () => {
    const m = new NodeMetrics();
    let open = 2;
    m.watchTcp({ openConnections: () => [{ entryPoint: 'ssh', router: 'git', open }] });
    const value = () =>
      sample(m.expose(), 'berth_tcp_connections_open', 'berth_tcp_connections_open', {
        entrypoint: 'ssh',
        router: 'git',
      })?.value;
    assert.equal(value(), 2);
    open = 0;
    assert.equal(value(), 0);
  });
});
