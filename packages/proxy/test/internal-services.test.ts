// The services a node provides itself, through a real data plane on loopback: ping, noop,
// prometheus, and api/dashboard showing the applied snapshot in Traefik's API shape, secrets redacted.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { HttpMiddleware, HttpRouter, HttpService } from '@berth/config';
import { applyDelta, type DeltaOp, SNAPSHOT_SCHEMA, type SnapshotBody } from '@berth/protocol';
import { pino } from 'pino';
import { DataPlane } from '../src/data-plane.js';
import { apiAnswer } from '../src/internal/api-routes.js';
import { internalServices } from '../src/internal/internal-services.js';
import { startBackend } from './support/backend.js';
import { call } from './support/client.js';
import { fakeContext } from './support/context.js';

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

/** A bcrypt hash and a bearer token that must never leave the node through the API. */
const HASH = '$2y$05$abcdefghijklmnopqrstuu5Hh2Jq.Q9jJdQ1oX3M5r7K2Hq3y9n1y';
const TOKEN = 'Bearer s3cr3t-upstream-token';
const KEY_PEM =
  '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n';

function snapshot(
  routers: Record<string, HttpRouter>,
  services: Record<string, HttpService> = {},
  middlewares: Record<string, HttpMiddleware> = {},
): SnapshotBody {
  return {
    schema: SNAPSHOT_SCHEMA,
    entryPoints: { web: { address: ':80' } },
    http: { routers, services, middlewares },
  };
}

async function plane(body: SnapshotBody, closeDrainMs = 100): Promise<{ plane: DataPlane; port: number }> {
  const p = new DataPlane({ logger, entryPointOverrides: { web: '127.0.0.1:0' }, closeDrainMs });
  cleanups.push(() => p.close());
  const result = await p.apply(body);
  if (!result.ok) assert.fail(`${result.code}: ${result.error}`);
  const address = result.listeners[0]?.address ?? '';
  return { plane: p, port: Number(address.slice(address.lastIndexOf(':') + 1)) };
}

describe('internal services on a proxy node', () => {
  it('ping@internal answers 200 OK as Traefik does', async () => {
    const { port } = await plane(
      snapshot({ 'ping@docker': { rule: 'PathPrefix(`/ping`)', service: 'ping@internal' } }),
    );
    const reply = await call(port, { path: '/ping' });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'OK');
    assert.match(String(reply.headers['content-type']), /^text\/plain/);
    const head = await call(port, { path: '/ping', method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  it('noop@internal answers 418 alone and lets a redirect middleware answer in front of it', async () => {
    const { port } = await plane(
      snapshot(
        {
          'plain@file': { rule: 'Host(`noop.test`)', service: 'noop@internal' },
          'to-https@file': {
            rule: 'Host(`redirect.test`)',
            service: 'noop@internal',
            middlewares: ['https@file'],
          },
        },
        {},
        { 'https@file': { redirectScheme: { scheme: 'https', permanent: true } } },
      ),
    );
    const plain = await call(port, { host: 'noop.test', path: '/x' });
    assert.equal(plain.status, 418);
    assert.equal(plain.body, '');
    const redirected = await call(port, { host: 'redirect.test', path: '/x?y=1' });
    assert.equal(redirected.status, 301);
    assert.equal(redirected.headers.location, 'https://redirect.test/x?y=1');
  });

  it("prometheus@internal serves the node's own exposition, this router's requests counted", async () => {
    const backend = await startBackend('B');
    cleanups.push(() => backend.close());
    const { port } = await plane(
      snapshot(
        {
          'metrics@file': { rule: 'PathPrefix(`/metrics`)', service: 'prometheus@internal' },
          'app@file': { rule: 'PathPrefix(`/app`)', service: 'app@file' },
        },
        { 'app@file': { loadBalancer: { servers: [{ url: backend.url }] } } },
      ),
    );
    assert.equal((await call(port, { path: '/app' })).status, 200);
    const reply = await call(port, { path: '/metrics' });
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(reply.body, /# TYPE berth_requests_total counter/);
    assert.match(reply.body, /berth_requests_total\{[^}]*router="app@file"[^}]*\} 1/);
  });

  describe('api@internal and dashboard@internal', () => {
    const routers: Record<string, HttpRouter> = {
      'dashboard@docker': {
        rule: 'Host(`traefik.test`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`) || Path(`/`))',
        service: 'api@internal',
        middlewares: ['auth@docker'],
        priority: 100,
      },
      'app@docker': {
        rule: 'Host(`app.test`)',
        service: 'app@docker',
        middlewares: ['token@docker'],
        tls: {},
      },
      'page@docker': {
        rule: 'Host(`page.test`)',
        service: 'dashboard@internal',
        middlewares: ['strip@docker'],
      },
    };
    const middlewares: Record<string, HttpMiddleware> = {
      'auth@docker': { basicAuth: { users: [`admin:${HASH}`] } },
      'token@docker': { headers: { customRequestHeaders: { Authorization: TOKEN, 'X-Plain': 'visible' } } },
      'strip@docker': { stripPrefix: { prefixes: ['/dashboard'] } },
    };
    const services: Record<string, HttpService> = {
      'app@docker': {
        loadBalancer: {
          servers: [{ url: 'http://127.0.0.1:9' }, { url: 'http://svc:upstream-pw@127.0.0.1:10' }],
        },
      },
    };
    const body: SnapshotBody = {
      ...snapshot(routers, services, middlewares),
      entryPoints: { web: { address: ':80', http: { tls: {} } } },
      tls: {
        certificates: [],
        defaultCertificate: {
          certPem: 'cert',
          keyPem: KEY_PEM,
          names: [],
          notAfter: '2100-01-01T00:00:00Z',
          stores: ['default'],
          origin: 'default',
        },
        options: {},
        sessionTicketKeys: ['c2VjcmV0LXRpY2tldC1rZXk='],
      },
    };
    // Only the API and the page here: the other routers' TLS would need certificates.
    const plainBody: SnapshotBody = { ...body, entryPoints: { web: { address: ':80' } } };
    const auth = { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` };

    async function api(path: string, port: number) {
      return call(port, { host: 'traefik.test', path, headers: {} });
    }

    it('lists routers, services and middlewares with Traefik fields, and never a secret', async () => {
      // basicAuth would refuse this fake hash's password; drop it from the API router for the read.
      const open = structuredClone(plainBody);
      open.http.routers['dashboard@docker'] = { ...routers['dashboard@docker']!, middlewares: [] };
      const { port } = await plane(open);

      const list = await api('/api/http/routers', port);
      assert.equal(list.status, 200);
      assert.equal(list.headers['content-type'], 'application/json');
      assert.equal(list.headers['x-next-page'], '1');
      const rs = JSON.parse(list.body) as Record<string, unknown>[];
      assert.deepEqual(
        rs.map((r) => r.name),
        ['app@docker', 'dashboard@docker', 'page@docker'],
      );
      const app = rs[0]!;
      assert.equal(app.provider, 'docker');
      assert.equal(app.status, 'enabled');
      assert.equal(app.rule, 'Host(`app.test`)');
      assert.equal(app.service, 'app@docker');
      assert.deepEqual(app.using, ['web']);
      assert.deepEqual(app.tls, { options: 'default' });

      const one = await api('/api/http/routers/dashboard@docker', port);
      assert.equal(one.status, 200);
      const dash = JSON.parse(one.body) as Record<string, unknown>;
      assert.equal(dash.service, 'api@internal');
      assert.equal(dash.priority, 100);
      assert.equal(dash.priorityStr, '100');
      const missing = await api('/api/http/routers/nope@file', port);
      assert.equal(missing.status, 404);
      assert.deepEqual(JSON.parse(missing.body), { message: 'router not found: nope@file' });

      const svc = JSON.parse((await api('/api/http/services', port)).body) as Record<string, unknown>[];
      const appService = svc.find((s) => s.name === 'app@docker');
      assert.equal(appService?.type, 'loadbalancer');
      assert.deepEqual(appService?.usedBy, ['app@docker']);
      assert.deepEqual(appService?.serverStatus, {
        'http://127.0.0.1:9': 'UP',
        'http://svc:[redacted]@127.0.0.1:10': 'UP',
      });
      const internal = svc.find((s) => s.name === 'api@internal');
      assert.deepEqual(internal, {
        name: 'api@internal',
        provider: 'internal',
        status: 'enabled',
        usedBy: ['dashboard@docker'],
      });

      const mws = JSON.parse((await api('/api/http/middlewares', port)).body) as Record<string, unknown>[];
      const basic = mws.find((m) => m.name === 'auth@docker');
      assert.equal(basic?.type, 'basicauth');
      assert.deepEqual(basic?.basicAuth, { users: ['admin:[redacted]'] });
      const headers = mws.find((m) => m.name === 'token@docker');
      assert.deepEqual(headers?.headers, {
        customRequestHeaders: { Authorization: '[redacted]', 'X-Plain': 'visible' },
      });

      const overview = JSON.parse((await api('/api/overview', port)).body) as {
        http: { routers: unknown };
        providers: string[];
      };
      assert.deepEqual(overview.http.routers, { total: 3, warnings: 0, errors: 0 });
      assert.deepEqual(overview.providers, ['docker']);
      const eps = JSON.parse((await api('/api/entrypoints', port)).body) as Record<string, unknown>[];
      assert.deepEqual(eps, [{ address: ':80', name: 'web' }]);
      const version = JSON.parse((await api('/api/version', port)).body) as Record<string, unknown>;
      assert.match(String(version.Version), /^berth /);
      assert.equal((await api('/api/tcp/routers', port)).body, '[]\n');

      // Every answer, the raw data included: no hash, token, private key or ticket key anywhere.
      for (const path of [
        '/api/rawdata',
        '/api/http/middlewares',
        '/api/http/middlewares/auth@docker',
        '/api/overview',
        '/api/entrypoints',
        '/api/http/services',
      ]) {
        const text = (await api(path, port)).body;
        for (const secret of [HASH, TOKEN, 'PRIVATE KEY', 'c2VjcmV0LXRpY2tldC1rZXk=', 'upstream-pw'])
          assert.ok(!text.includes(secret), `${path} shows ${secret}`);
      }
      const raw = JSON.parse((await api('/api/rawdata', port)).body) as Record<
        string,
        Record<string, { status?: string; name?: string }>
      >;
      assert.deepEqual(Object.keys(raw).sort(), ['middlewares', 'routers', 'services']);
      assert.equal(raw.routers?.['app@docker']?.status, 'enabled');
      assert.equal(raw.routers?.['app@docker']?.name, undefined);
    });

    it('keeps its middlewares: basicAuth in front of the API answers 401 without credentials', async () => {
      // The same node as users configure it: the API behind basicAuth (a SHA1 hash of "pw").
      const guarded = structuredClone(plainBody);
      guarded.http.middlewares = {
        ...guarded.http.middlewares,
        'auth@docker': { basicAuth: { users: ['admin:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM='] } },
      };
      const { port } = await plane(guarded);
      assert.equal((await api('/api/overview', port)).status, 401);
      const ok = await call(port, { host: 'traefik.test', path: '/api/overview', headers: auth });
      assert.equal(ok.status, 200);
    });

    it('redirects / to /dashboard/ and serves the page and its script; dashboard@internal behind a stripPrefix too', async () => {
      const open = structuredClone(plainBody);
      open.http.routers['dashboard@docker'] = { ...routers['dashboard@docker']!, middlewares: [] };
      const { port } = await plane(open);
      const root = await api('/', port);
      assert.equal(root.status, 302);
      assert.equal(root.headers.location, '/dashboard/');
      const bare = await api('/dashboard', port);
      assert.equal(bare.status, 302);
      assert.equal(bare.headers.location, '/dashboard/');
      const page = await api('/dashboard/', port);
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(page.body, /<script src="dashboard.js"><\/script>/);
      assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
      const script = await api('/dashboard/dashboard.js', port);
      assert.equal(script.status, 200);
      assert.match(script.body, /new URL\('\.\.\/api\/', location\.href\)/);
      assert.equal((await api('/dashboard/other.js', port)).status, 404);
      assert.equal((await api('/nothing', port)).status, 404);
      const post = await call(port, { host: 'traefik.test', path: '/api/overview', method: 'POST' });
      assert.equal(post.status, 405);

      const viaStrip = await call(port, { host: 'page.test', path: '/dashboard/' });
      assert.equal(viaStrip.status, 200);
      assert.match(viaStrip.body, /<title>Berth node<\/title>/);
      assert.equal((await call(port, { host: 'page.test', path: '/dashboard/dashboard.js' })).status, 200);
    });
  });

  it('serves a router to an internal service added by a delta, the view following the new body', async () => {
    const first = snapshot({ 'ping@file': { rule: 'PathPrefix(`/ping`)', service: 'ping@internal' } });
    const { plane: p, port } = await plane(first);
    const ops: DeltaOp[] = [
      {
        op: 'set',
        path: ['http', 'routers', 'api@file'],
        value: { rule: 'PathPrefix(`/api`)', service: 'api@internal' },
      },
    ];
    const second = applyDelta(first, ops);
    const result = await p.apply(second, undefined, { base: first, ops });
    assert.equal(result.ok, true);
    assert.equal((await call(port, { path: '/ping' })).body, 'OK');
    const routers = JSON.parse((await call(port, { path: '/api/http/routers' })).body) as { name: string }[];
    assert.deepEqual(
      routers.map((r) => r.name),
      ['api@file', 'ping@file'],
    );
  });

  it('refuses a body whose router names an internal service the node does not have', async () => {
    const p = new DataPlane({ logger, entryPointOverrides: { web: '127.0.0.1:0' }, closeDrainMs: 100 });
    cleanups.push(() => p.close());
    const result = await p.apply(
      snapshot({ 'r@file': { rule: 'PathPrefix(`/`)', service: 'rest@internal' } }),
    );
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.error, /service "rest@internal" does not exist/);
  });
});

describe('internal service handlers, without sockets', () => {
  function services(state: { terminating: boolean; metrics?: () => string }) {
    return internalServices({
      metrics: state.metrics ?? (() => '# nothing\n'),
      terminating: () => state.terminating,
      view: () => undefined,
      logger,
    });
  }

  it('ping@internal answers 503 Service Unavailable once the node is shutting down, as Traefik does', async () => {
    const state = { terminating: false };
    const ping = services(state)('ping@internal');
    assert.equal(ping?.kind, 'internal');
    const before = fakeContext();
    await ping!.handler(before.ctx);
    assert.equal(before.answers[0]?.status, 200);
    assert.equal(before.answers[0]?.body, 'OK');
    state.terminating = true;
    const during = fakeContext();
    await ping!.handler(during.ctx);
    assert.equal(during.answers[0]?.status, 503);
    assert.equal(during.answers[0]?.body, 'Service Unavailable');
    assert.equal(during.ctx.log.service, 'ping@internal');
  });

  it('prometheus@internal answers 503 when the metrics cannot be gathered', async () => {
    const prometheus = services({
      terminating: false,
      metrics: () => {
        throw new Error('workers gone');
      },
    })('prometheus@internal');
    const t = fakeContext();
    await prometheus!.handler(t.ctx);
    assert.equal(t.answers[0]?.status, 503);
  });

  it('knows only the internal services Berth has, one runtime each', () => {
    const lookup = services({ terminating: false });
    assert.equal(lookup('rest@internal'), undefined);
    assert.equal(lookup('ping@docker'), undefined);
    assert.equal(lookup('api@internal'), lookup('api@internal'));
  });

  it('the API answers 503 before any snapshot is applied, and its version without one', () => {
    const version = { Version: 'berth 0.1.0', Codename: 'berth', startDate: '2026-01-01T00:00:00.000Z' };
    assert.equal(apiAnswer('GET', '/api/http/routers', () => undefined, version).status, 503);
    const v = apiAnswer('GET', '/api/version', () => undefined, version);
    assert.deepEqual(JSON.parse(v.body), version);
    // X-Forwarded-Prefix, kept only when it is a path.
    assert.equal(
      apiAnswer('GET', '/', () => undefined, version, '/traefik/').headers.location,
      '/traefik/dashboard/',
    );
    assert.equal(
      apiAnswer('GET', '/', () => undefined, version, 'https://evil.test').headers.location,
      '/dashboard/',
    );
  });
});
