// Tests for active HTTP health checks against real backends on loopback that go down and come back.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HEALTHCHECK_CONFIG, HealthRegistry } from '../src/health/health-registry.js';
import type { ServerTarget } from '../src/runtime/types.js';
import { type Backend, closedPort, startBackend } from './support/backend.js';
import { healthBody } from './support/health-body.js';
import { captureLog, waitFor } from './support/log-capture.js';
import { makePki } from './support/pki.js';

const target = (url: string): ServerTarget => {
  const u = new URL(url);
  return { url: u, origin: u.origin, weight: 1 };
};

interface Flippable {
  backend: Backend;
  /** Status the health endpoint answers with. */
  status: number;
  probes: IncomingMessage[];
}

async function flippable(name: string): Promise<Flippable> {
  const state: Flippable = { backend: undefined as unknown as Backend, status: 200, probes: [] };
  state.backend = await startBackend(name, (req, res) => {
    state.probes.push(req);
    req.resume();
    res.writeHead(state.status, { 'content-type': 'text/plain' });
    res.end(`${name} ${state.status}`);
  });
  return state;
}

const FAST = { interval: '100ms', timeout: '500ms', path: '/health' };

describe('active health checks', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  async function newRegistry(): Promise<{ registry: HealthRegistry; lines: Record<string, unknown>[] }> {
    const { logger, lines } = captureLog();
    const registry = new HealthRegistry({ logger });
    cleanup.push(() => registry.close());
    return { registry, lines };
  }

  it('follows a real backend going down and coming back up, logging each change once', async () => {
    const a = await flippable('a');
    const b = await flippable('b');
    cleanup.push(
      () => a.backend.close(),
      () => b.backend.close(),
    );
    const { registry, lines } = await newRegistry();
    registry.update(healthBody({ api: { servers: [a.backend.url, b.backend.url], healthCheck: FAST } }));
    const ta = target(a.backend.url);
    const tb = target(b.backend.url);
    await waitFor(() => a.probes.length >= 2, 'two probes');
    assert.equal(registry.isAvailable('api', ta), true);

    a.status = 503;
    await waitFor(() => !registry.isAvailable('api', ta), 'a to go down');
    assert.equal(registry.isAvailable('api', tb), true);
    assert.equal(registry.report().find((r) => r.url === a.backend.url)?.status, 'down');

    a.status = 200;
    await waitFor(() => registry.isAvailable('api', ta), 'a to come back');
    const seenBefore = a.probes.length;
    await waitFor(() => a.probes.length >= seenBefore + 2, 'two more probes');

    const changes = lines.filter((l) => l['server'] === a.backend.url);
    assert.deepEqual(
      changes.map((l) => [l['msg'], l['probe']]),
      [
        ['server failed its health check; taking it out', 'status 503'],
        ['server is healthy again', 'status 200'],
      ],
    );
    assert.equal(
      lines.filter((l) => l['server'] === b.backend.url).length,
      0,
      'a steady server logs nothing',
    );
  });

  it('counts a server as up until its first probe answers', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const { registry } = await newRegistry();
    registry.update(healthBody({ api: { servers: [url], healthCheck: FAST } }));
    assert.equal(registry.isAvailable('api', target(url)), true);
    await waitFor(() => !registry.isAvailable('api', target(url)), 'refused connection to mark it down');
    assert.equal(registry.report()[0]?.status, 'down');
  });

  it('marks down a backend that stops listening and up again when it returns', async () => {
    const a = await flippable('a');
    const port = a.backend.port;
    const url = a.backend.url;
    const { registry } = await newRegistry();
    registry.update(healthBody({ api: { servers: [url], healthCheck: FAST } }));
    await waitFor(() => a.probes.length >= 1, 'first probe');
    await a.backend.close();
    await waitFor(() => !registry.isAvailable('api', target(url)), 'down after close');
    const { createServer } = await import('node:http');
    const again = createServer((req, res) => {
      req.resume();
      res.end('back');
    });
    await new Promise<void>((resolve) => again.listen(port, '127.0.0.1', resolve));
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          again.close(() => resolve());
          again.closeAllConnections();
        }),
    );
    await waitFor(() => registry.isAvailable('api', target(url)), 'up after the server returned');
  });

  it('treats a probe that outlives its timeout as a failure', async () => {
    const held: import('node:http').ServerResponse[] = [];
    const slow = await startBackend('slow', (req, res) => {
      req.resume();
      held.push(res);
    });
    cleanup.push(async () => {
      for (const res of held) res.destroy();
      await slow.close();
    });
    const { registry, lines } = await newRegistry();
    registry.update(
      healthBody({ api: { servers: [slow.url], healthCheck: { interval: '100ms', timeout: '150ms' } } }),
    );
    await waitFor(() => !registry.isAvailable('api', target(slow.url)), 'timeout to mark it down');
    assert.equal(lines.find((l) => l['server'] === slow.url)?.['probe'], 'timeout after 150ms');
  });

  it('sends the configured method, path, port, Host and headers', async () => {
    const a = await flippable('a');
    cleanup.push(() => a.backend.close());
    const { registry } = await newRegistry();
    // The server URL points at a closed port; the check's `port` points at the live backend.
    const serverUrl = `http://127.0.0.1:${await closedPort()}/app`;
    registry.update(
      healthBody({
        api: {
          servers: [serverUrl],
          healthCheck: {
            ...FAST,
            path: '/ready?deep=1',
            method: 'head',
            port: a.backend.port,
            hostname: 'health.internal',
            headers: { 'X-Probe': 'berth' },
          },
        },
      }),
    );
    await waitFor(() => a.probes.length >= 1, 'a probe on the override port');
    const probe = a.probes[0];
    assert.equal(probe?.method, 'HEAD');
    assert.equal(probe?.url, '/ready?deep=1');
    assert.equal(probe?.headers.host, 'health.internal');
    assert.equal(probe?.headers['x-probe'], 'berth');
    assert.equal(registry.isAvailable('api', target(serverUrl)), true);
  });

  it('applies the expected status spec, and follows redirects only when asked', async () => {
    const moved = await startBackend('moved', (req, res) => {
      req.resume();
      if (req.url === '/health') {
        res.writeHead(302, { location: '/ok' });
        res.end();
        return;
      }
      res.writeHead(req.url === '/ok' ? 200 : 404);
      res.end();
    });
    cleanup.push(() => moved.close());
    const { registry } = await newRegistry();
    const tgt = target(moved.url);
    registry.update(
      healthBody({
        api: { servers: [moved.url], healthCheck: { ...FAST, status: '2xx', followRedirects: false } },
      }),
    );
    await waitFor(() => !registry.isAvailable('api', tgt), '302 to fail a 2xx spec');
    registry.update(
      healthBody({
        api: { servers: [moved.url], healthCheck: { ...FAST, status: '2xx', followRedirects: true } },
      }),
    );
    await waitFor(() => registry.isAvailable('api', tgt), 'the followed redirect to answer 200');
    registry.update(healthBody({ api: { servers: [moved.url], healthCheck: { ...FAST, status: '404' } } }));
    await waitFor(() => !registry.isAvailable('api', tgt), 'the redirect target no longer to match');
  });

  it('keeps an unchanged check and its state across snapshots, and stops removed ones', async () => {
    const a = await flippable('a');
    cleanup.push(() => a.backend.close());
    a.status = 500;
    const { registry } = await newRegistry();
    const slow = { ...FAST, interval: '60s', unhealthyInterval: '60s' };
    const tgt = target(a.backend.url);
    registry.update(healthBody({ api: { servers: [a.backend.url], healthCheck: slow } }));
    await waitFor(() => !registry.isAvailable('api', tgt), 'first probe to mark it down');
    const since = registry.report()[0]?.since;

    registry.update(
      healthBody({ api: { servers: [a.backend.url], healthCheck: slow }, other: { servers: [] } }),
    );
    assert.equal(registry.isAvailable('api', tgt), false, 'a restarted checker would count it up');
    assert.equal(registry.report()[0]?.since, since);
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(a.probes.length, 1, 'no new probe for an unchanged check');

    // A retuned check keeps the state and probes at once with the new settings.
    a.status = 200;
    registry.update(
      healthBody({ api: { servers: [a.backend.url], healthCheck: { ...slow, path: '/other' } } }),
    );
    assert.equal(registry.isAvailable('api', tgt), false);
    await waitFor(() => registry.isAvailable('api', tgt), 'the retuned probe to mark it up');
    assert.equal(a.probes.at(-1)?.url, '/other');

    registry.update(healthBody({}));
    const count = a.probes.length;
    assert.deepEqual(registry.report(), []);
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(a.probes.length, count, 'a removed check stops probing');
  });

  it('probes a down server at unhealthyInterval and a healthy one at interval', async () => {
    const a = await flippable('a');
    cleanup.push(() => a.backend.close());
    a.status = 500;
    const { registry } = await newRegistry();
    const tgt = target(a.backend.url);
    registry.update(
      healthBody({
        api: {
          servers: [a.backend.url],
          healthCheck: { path: '/health', interval: '60s', unhealthyInterval: '50ms', timeout: '500ms' },
        },
      }),
    );
    await waitFor(() => a.probes.length >= 4, 'quick probes while down');
    assert.equal(registry.isAvailable('api', tgt), false);
    a.status = 200;
    await waitFor(() => registry.isAvailable('api', tgt), 'the server to come back');
    const count = a.probes.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(a.probes.length, count, 'a healthy server waits the full interval');
  });

  it('probes https servers with the TLS settings of the service’s serversTransport', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-health-tls-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const pki = await makePki(dir);
    const tls = createHttpsServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
      req.resume();
      res.end('ok');
    });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          tls.close(() => resolve());
          tls.closeAllConnections();
        }),
    );
    const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
    const tgt = target(url);
    const { registry } = await newRegistry();
    const body = (serversTransport?: string) =>
      healthBody(
        { api: { servers: [url], healthCheck: FAST, ...(serversTransport ? { serversTransport } : {}) } },
        { insecure: { insecureSkipVerify: true }, pinned: { rootCAs: [pki.caPem] } },
      );
    registry.update(body());
    await waitFor(() => !registry.isAvailable('api', tgt), 'an untrusted certificate to fail the probe');
    registry.update(body('insecure'));
    await waitFor(() => registry.isAvailable('api', tgt), 'insecureSkipVerify to accept it');
    registry.update(body());
    await waitFor(() => !registry.isAvailable('api', tgt), 'down again without the transport');
    registry.update(body('pinned'));
    await waitFor(() => registry.isAvailable('api', tgt), 'the transport’s root CA to verify it');
  });

  it('logs a check it cannot run with a stable code and counts the server up', async () => {
    const { registry, lines } = await newRegistry();
    const url = 'http://127.0.0.1:9';
    registry.update(healthBody({ api: { servers: [url], healthCheck: { status: 'often' } } }));
    assert.equal(registry.isAvailable('api', target(url)), true);
    assert.equal(lines.find((l) => l['code'] === HEALTHCHECK_CONFIG)?.['service'], 'api');
  });

  it('stops probing when closed', async () => {
    const a = await flippable('a');
    cleanup.push(() => a.backend.close());
    const { registry } = await newRegistry();
    registry.update(healthBody({ api: { servers: [a.backend.url], healthCheck: FAST } }));
    await waitFor(() => a.probes.length >= 1, 'first probe');
    await registry.close();
    const count = a.probes.length;
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(a.probes.length, count);
  });
});
