// The node's API view, pure: Traefik's representation of an applied body, paging and filters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SNAPSHOT_SCHEMA, type SnapshotBody } from '@berth/protocol';
import { apiAnswer } from '../src/internal/api-routes.js';
import { apiView, overview } from '../src/internal/api-view.js';

const version = { Version: 'berth test', Codename: 'berth', startDate: '2026-01-01T00:00:00.000Z' };

function body(): SnapshotBody {
  const routers: SnapshotBody['http']['routers'] = {};
  for (let i = 0; i < 5; i++) routers[`r${i}@file`] = { rule: `Host(\`r${i}.test\`)`, service: 'app@file' };
  routers['chained@docker'] = {
    rule: 'Host(`c.test`)',
    service: 'split@docker',
    middlewares: ['outer@docker'],
    entryPoints: ['web'],
  };
  return {
    schema: SNAPSHOT_SCHEMA,
    entryPoints: { web: { address: ':80', http: { middlewares: ['ep@file'] } }, other: { address: ':81' } },
    http: {
      routers,
      services: {
        'app@file': { loadBalancer: { servers: [{ url: 'http://10.0.0.1:80' }] } },
        'split@docker': { weighted: { services: [{ name: 'app@file', weight: 1 }] } },
      },
      middlewares: {
        'outer@docker': { chain: { middlewares: ['inner@docker'] } },
        'inner@docker': { stripPrefix: { prefixes: ['/x'] } },
        'ep@file': { headers: { frameDeny: true } },
      },
    },
    tcp: {
      routers: { 'db@file': { rule: 'HostSNI(`*`)', service: 'db@file', entryPoints: ['other'] } },
      services: { 'db@file': { loadBalancer: { servers: [{ address: '10.0.0.2:5432' }] } } },
    },
  };
}

const state = {
  problems: [{ router: 'r3@file', error: 'middleware "x" cannot be built' }],
  serverStatus: (name: string) => (name === 'app@file' ? { 'http://10.0.0.1:80': 'DOWN' } : undefined),
};

describe('the node API view', () => {
  const view = apiView(body(), state);

  it('marks a router the node left out disabled with its error, and counts it in the overview', () => {
    const r3 = view.routers.find((r) => r.name === 'r3@file');
    assert.equal(r3?.status, 'disabled');
    assert.deepEqual(r3?.error, ['middleware "x" cannot be built']);
    const o = overview(view) as { http: { routers: unknown }; tcp: { routers: unknown } };
    assert.deepEqual(o.http.routers, { total: 6, warnings: 0, errors: 1 });
    assert.deepEqual(o.tcp.routers, { total: 1, warnings: 0, errors: 0 });
  });

  it('lists who uses what: through weighted children, chains and entry point middlewares', () => {
    const app = view.services.find((s) => s.name === 'app@file');
    assert.deepEqual(app?.usedBy, ['chained@docker', 'r0@file', 'r1@file', 'r2@file', 'r3@file', 'r4@file']);
    assert.deepEqual(app?.serverStatus, { 'http://10.0.0.1:80': 'DOWN' });
    assert.equal(view.services.find((s) => s.name === 'split@docker')?.type, 'weighted');
    assert.deepEqual(view.middlewares.find((m) => m.name === 'inner@docker')?.usedBy, ['chained@docker']);
    // Routers without entryPoints are on every entry point, so they pass through web's middleware.
    assert.equal(
      (view.middlewares.find((m) => m.name === 'ep@file')?.usedBy as string[] | undefined)?.length,
      6,
    );
    assert.deepEqual(view.routers.find((r) => r.name === 'r0@file')?.using, ['other', 'web']);
    assert.deepEqual(view.tcpServices[0]?.usedBy, ['db@file']);
    assert.deepEqual(view.providers, ['docker', 'file']);
  });

  it('pages as Traefik does: per_page, page and X-Next-Page (1 on the last page)', () => {
    const first = apiAnswer('GET', '/api/http/routers?per_page=4', () => view, version);
    assert.equal(first.headers['x-next-page'], '2');
    assert.equal((JSON.parse(first.body) as unknown[]).length, 4);
    const last = apiAnswer('GET', '/api/http/routers?per_page=4&page=2', () => view, version);
    assert.equal(last.headers['x-next-page'], '1');
    assert.equal((JSON.parse(last.body) as unknown[]).length, 2);
    assert.equal(apiAnswer('GET', '/api/http/routers?per_page=4&page=3', () => view, version).status, 400);
    assert.equal(apiAnswer('GET', '/api/http/routers?page=0', () => view, version).status, 400);
  });

  it('filters by search, status, serviceName and middlewareName', () => {
    const names = (target: string) =>
      (JSON.parse(apiAnswer('GET', target, () => view, version).body) as { name: string }[]).map(
        (r) => r.name,
      );
    assert.deepEqual(names('/api/http/routers?search=R2.TEST'), ['r2@file']);
    assert.deepEqual(names('/api/http/routers?status=disabled'), ['r3@file']);
    assert.deepEqual(names('/api/http/routers?serviceName=split'), ['chained@docker']);
    assert.deepEqual(names('/api/http/routers?serviceName=split@file'), []);
    assert.deepEqual(names('/api/http/routers?middlewareName=outer@docker'), ['chained@docker']);
  });

  it('finds one element by its URL-encoded name, and answers unknown paths 404', () => {
    const one = apiAnswer('GET', '/api/tcp/routers/db%40file', () => view, version);
    assert.equal(one.status, 200);
    assert.equal((JSON.parse(one.body) as { name: string }).name, 'db@file');
    assert.equal(apiAnswer('GET', '/api/entrypoints/other', () => view, version).status, 200);
    assert.equal(apiAnswer('GET', '/api/udp/routers', () => view, version).body, '[]\n');
    assert.equal(apiAnswer('GET', '/api/http/nothing', () => view, version).status, 404);
    assert.equal(apiAnswer('GET', '/api/http/routers/a/b', () => view, version).status, 404);
  });
});
