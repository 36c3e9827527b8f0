// The API's DNS-rebinding guard over real HTTP: loopback, IP addresses and configured names are answered, other Hosts get 421.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../src/api/api-server.js';
import { hostOf } from '../src/api/host-check.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import { SnapshotStore } from '../src/store/snapshot-store.js';

/** GET over a real socket with exactly this Host header (none when null). */
function get(
  port: number,
  path: string,
  host: string | null,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent: false, setHost: host !== null, headers: { ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    if (host !== null) req.setHeader('host', host);
    req.on('error', reject);
    req.end();
  });
}

describe('API Host check (DNS rebinding)', () => {
  let dir: string;
  let store: SnapshotStore;
  const lines: Array<Record<string, unknown>> = [];
  const apps: FastifyInstance[] = [];

  async function serve(opts: { allowedHosts?: string[]; authToken?: string } = {}): Promise<number> {
    const app = buildApi({
      store,
      nodes: { list: () => [] },
      state: () => ({ compile: null, startedAt: '2024-01-01T00:00:00.000Z', epoch: store.epoch }),
      log: { info: (obj) => lines.push(obj as Record<string, unknown>) },
      ...opts,
    });
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    return (app.server.address() as AddressInfo).port;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-api-host-'));
    store = await SnapshotStore.open(dir);
  });

  after(async () => {
    for (const app of apps) await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a foreign name with 421 and a stable code, on every route, before authentication', async () => {
    const port = await serve();
    for (const path of ['/api/v1/status', '/api/v1/snapshot/body', '/healthz', '/nope']) {
      const res = await get(port, path, `evil.example:${port}`);
      assert.equal(res.status, 421, path);
      assert.equal(JSON.parse(res.body).code, ErrorCodes.API_HOST_REFUSED);
    }
    const bare = await get(port, '/api/v1/status', 'evil.example');
    assert.equal(bare.status, 421);
    const withToken = await serve({ authToken: 'x'.repeat(40) });
    const res = await get(withToken, '/api/v1/status', 'evil.example', {
      authorization: `Bearer ${'x'.repeat(40)}`,
    });
    assert.equal(res.status, 421, 'even with the right token');
  });

  it('answers loopback names and addresses, with or without a port', async () => {
    const port = await serve();
    for (const host of [
      `127.0.0.1:${port}`,
      '127.0.0.1',
      `localhost:${port}`,
      'LOCALHOST',
      'localhost.',
      `[::1]:${port}`,
      '127.1.2.3',
      `10.1.2.3:${port}`,
    ]) {
      const res = await get(port, '/api/v1/status', host);
      assert.equal(res.status, 200, `${host}: ${res.body}`);
    }
  });

  it('answers a configured name and refuses its look-alikes', async () => {
    const port = await serve({ allowedHosts: ['lb1.internal'] });
    assert.equal((await get(port, '/api/v1/status', `lb1.internal:${port}`)).status, 200);
    assert.equal((await get(port, '/api/v1/status', 'LB1.Internal')).status, 200);
    assert.equal((await get(port, '/api/v1/status', 'lb1.internal.evil.example')).status, 421);
    assert.equal((await get(port, '/api/v1/status', 'x.lb1.internal')).status, 421);
    assert.equal((await get(port, '/api/v1/status', 'localhost.evil.example')).status, 421);
  });

  it('answers any Host with *', async () => {
    const port = await serve({ allowedHosts: ['*'] });
    assert.equal((await get(port, '/api/v1/status', 'evil.example')).status, 200);
  });

  it('answers a request without Host (HTTP/1.0 tools; browsers always send one)', async () => {
    const port = await serve();
    const { connect } = await import('node:net');
    const text = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => sock.write('GET /api/v1/status HTTP/1.0\r\n\r\n'));
      let out = '';
      sock.on('data', (c: Buffer) => {
        out += c.toString('utf8');
      });
      sock.on('end', () => resolve(out));
      sock.on('error', reject);
    });
    assert.match(text, /^HTTP\/1\.[01] 200/);
  });

  it('logs refusals at most once a minute, with the count', async () => {
    const port = await serve();
    const before = lines.length;
    for (let i = 0; i < 20; i++) await get(port, '/api/v1/status', `evil-${i}.example`);
    const logged = lines.slice(before);
    assert.equal(logged.length, 1, JSON.stringify(logged));
    assert.equal(logged[0]?.['code'], ErrorCodes.API_HOST_REFUSED);
    assert.equal(logged[0]?.['host'], 'evil-0.example');
  });

  it('parses Host headers', () => {
    assert.equal(hostOf('a.test:80'), 'a.test');
    assert.equal(hostOf('[::1]:7380'), '::1');
    assert.equal(hostOf('[::1]'), '::1');
    assert.equal(hostOf('[nope]:1'), null);
    assert.equal(hostOf('a b'), null);
    assert.equal(hostOf('a.test:80:90'), null);
  });
});
