// Tests for the access log: one JSON line per request, sampling, and nothing secret in it.
import assert from 'node:assert/strict';
import { Agent, createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { DataPlane } from '../src/data-plane.js';
import { FAST_PATH_AVAILABLE } from '../src/http/fast/fast-connection.js';
import { AccessLog, logAccess, shouldLog } from '../src/observability/access-log.js';
import { closedPort } from './support/backend.js';
import { call } from './support/client.js';
import { duplicateKeys } from './support/json-keys.js';
import { captureLog, waitFor } from './support/log-capture.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { stubContext } from './support/request-context.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

const started = 5_000_000_000n;

describe('the access log', () => {
  it('writes one JSON line with router, service, server, status, durations and bytes', () => {
    const { logger, lines } = captureLog();
    const ctx = stubContext({
      method: 'POST',
      url: '/api/items?token=s3cret',
      host: 'api.test',
      clientIp: '203.0.113.9',
      startedAt: started,
      log: {
        router: 'api',
        service: 'api-svc',
        server: 'http://10.0.0.1:8080',
        status: 201,
        bytesOut: 512,
        upstreamHeadersAt: started + 2_500_000n,
      },
    });
    logAccess(logger, ctx, started + 12_345_678n);
    assert.equal(lines.length, 1);
    const line = lines[0] ?? {};
    assert.equal(line['msg'], 'access');
    for (const [key, value] of Object.entries({
      entryPoint: 'web',
      router: 'api',
      service: 'api-svc',
      server: 'http://10.0.0.1:8080',
      status: 201,
      durationMs: 12.346,
      upstreamMs: 2.5,
      bytesOut: 512,
      method: 'POST',
      host: 'api.test',
      path: '/api/items',
      clientIp: '203.0.113.9',
    })) {
      assert.deepEqual(line[key], value, key);
    }
    assert.equal('error' in line, false);
  });

  it('never writes headers, cookies or the query string', () => {
    const { logger, lines } = captureLog();
    const ctx = stubContext({
      url: '/login?password=hunter2',
      headers: { authorization: 'Basic dXNlcjpodW50ZXIy', cookie: 'session=abc123', 'x-api-key': 'k-999' },
      log: { status: 200 },
    });
    logAccess(logger, ctx, ctx.startedAt + 1n);
    const text = JSON.stringify(lines);
    for (const secret of ['dXNlcjpodW50ZXIy', 'abc123', 'k-999', 'hunter2', 'authorization', 'cookie']) {
      assert.equal(text.toLowerCase().includes(secret.toLowerCase()), false, secret);
    }
  });

  it('keeps the query only when asked, and cuts very long paths', () => {
    const { logger, lines } = captureLog();
    logAccess(logger, stubContext({ url: '/a?b=c', log: { status: 200 } }), 2_000_000_000n, {
      includeQuery: true,
    });
    logAccess(logger, stubContext({ url: `/${'x'.repeat(5000)}`, log: { status: 200 } }), 2_000_000_000n);
    assert.equal(lines[0]?.['path'], '/a?b=c');
    assert.equal(String(lines[1]?.['path']).length, 2049);
  });

  it('records why Berth answered itself', () => {
    const { logger, lines } = captureLog();
    logAccess(
      logger,
      stubContext({ log: { status: 503, error: 'no_server', service: 'api' } }),
      2_000_000_000n,
    );
    assert.equal(lines[0]?.['error'], 'no_server');
    assert.equal(lines[0]?.['upstreamMs'], undefined);
  });
});

describe('access log sampling', () => {
  const never = () => 0.999;
  const always = () => 0;

  it('is off without settings or when disabled', () => {
    assert.equal(shouldLog(undefined, 200, always), false);
    assert.equal(shouldLog({ enabled: false }, 500, always), false);
  });

  it('logs everything by default once enabled', () => {
    assert.equal(shouldLog({}, 200, never), true);
    assert.equal(shouldLog({ enabled: true, sampling: 1 }, 404, never), true);
  });

  it('samples successes at the configured rate but always logs 5xx and unanswered requests', () => {
    const s = { enabled: true, sampling: 0.25 };
    assert.equal(
      shouldLog(s, 200, () => 0.1),
      true,
    );
    assert.equal(
      shouldLog(s, 200, () => 0.3),
      false,
    );
    assert.equal(shouldLog(s, 502, never), true);
    assert.equal(shouldLog(s, undefined, never), true);
    assert.equal(shouldLog({ sampling: 0 }, 200, always), false);
    assert.equal(shouldLog({ sampling: 0 }, 500, never), true);
  });

  it('logs about the sampled fraction of requests', () => {
    const { logger, lines } = captureLog();
    let seed = 42;
    // A fixed linear congruential sequence: deterministic, yet spread over [0, 1).
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const log = new AccessLog(logger, { settings: { sampling: 0.1 }, random });
    for (let i = 0; i < 2000; i++) log.write(stubContext({ log: { status: i % 100 === 0 ? 500 : 200 } }), 2n);
    const ok = lines.filter((l) => l['status'] === 200).length;
    const errors = lines.filter((l) => l['status'] === 500).length;
    assert.equal(errors, 20, 'every 5xx');
    assert.ok(ok > 120 && ok < 280, `about 10% of 1980 successes, got ${ok}`);
    assert.equal(lines[0]?.['component'], 'access');
  });

  it('follows the settings of each applied snapshot', () => {
    const { logger, lines } = captureLog();
    const log = new AccessLog(logger);
    log.write(stubContext({ log: { status: 200 } }), 2n);
    log.update({ enabled: true });
    log.write(stubContext({ log: { status: 200 } }), 2n);
    log.update(undefined);
    log.write(stubContext({ log: { status: 200 } }), 2n);
    assert.equal(lines.length, 1);
  });
});

/** A data plane whose log lines are kept as written, raw text and parsed. */
function loggedPlane(): { plane: DataPlane; raw: string[]; access: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void raw.push(line) });
  const plane = planeFor(cleanups, { logger });
  return {
    plane,
    raw,
    access: () =>
      raw.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'access'),
  };
}

/** Answers an `Upgrade: echo` with 101, echoes what it gets and adds `extra` bytes of its own. */
async function echoUpgradeServer(extra: number): Promise<string> {
  const server = createServer((_req, res) => res.end('no upgrade'));
  server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n');
    socket.write(Buffer.alloc(extra, 0x62));
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.add(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the data plane’s access log', () => {
  it('writes every line with each key once (component too), on the fast path, node:http and errors', async () => {
    const backend = await backendFor(cleanups, 'app');
    const dead = await closedPort();
    const { plane, raw, access } = loggedPlane();
    const b = body(
      {
        app: { rule: 'Host(`app.test`)', service: 'app' },
        dead: { rule: 'Host(`dead.test`)', service: 'dead' },
      },
      { app: service(backend.url), dead: service(`http://127.0.0.1:${dead}`) },
    );
    const port = await applied(plane, { ...b, accessLog: {} });
    const agent = new Agent({ keepAlive: true });
    cleanups.add(async () => agent.destroy());
    assert.equal((await call(port, { host: 'app.test', agent })).status, 200);
    assert.equal((await call(port, { host: 'app.test', method: 'POST', body: 'x' })).status, 200);
    assert.equal((await call(port, { host: 'dead.test' })).status, 502);
    assert.equal((await call(port, { host: 'none.test' })).status, 404);
    await waitFor(() => access().length === 4, 'four access lines');
    if (FAST_PATH_AVAILABLE) assert.ok(plane.fastPathRequests() >= 1, 'one request took the fast path');
    const lines = raw.filter((l) => (JSON.parse(l) as { msg?: string }).msg === 'access');
    for (const line of lines) {
      assert.deepEqual(duplicateKeys(line), [], line);
      assert.equal(line.match(/"component":/g)?.length, 1, line);
    }
    assert.deepEqual(
      access().map((l) => [l['component'], l['status']]),
      [
        ['access', 200],
        ['access', 200],
        ['access', 502],
        ['access', 404],
      ],
    );
  });

  it('writes an upgraded connection’s line when it closes, with its duration and bytes both ways', async () => {
    const url = await echoUpgradeServer(500);
    const { plane, access } = loggedPlane();
    const b = body({ tunnel: { rule: 'Host(`tunnel.test`)', service: 'echo' } }, { echo: service(url) });
    const port = await applied(plane, { ...b, accessLog: {} });

    const socket = connect(port, '127.0.0.1');
    let received = 0;
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      if (!head.includes('\r\n\r\n')) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end >= 0) received += Buffer.byteLength(head.slice(end + 4), 'latin1');
      } else received += chunk.length;
    });
    socket.write('GET /pipe HTTP/1.1\r\nhost: tunnel.test\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n');
    await waitFor(() => received === 500, 'the 101 and the server’s first bytes');
    assert.match(head, /^HTTP\/1\.1 101/);
    socket.write(Buffer.alloc(1000, 0x61));
    await waitFor(() => received === 1500, 'the echo');
    await sleep(300);
    assert.equal(access().length, 0, 'no line while the tunnel is open');
    socket.end();
    await waitFor(() => access().length === 1, 'the line of the closed tunnel');
    const line = access()[0]!;
    assert.equal(line['status'], 101);
    assert.equal(line['router'], 'tunnel');
    assert.equal(line['bytesIn'], 1000);
    assert.equal(line['bytesOut'], 1500);
    assert.ok(Number(line['durationMs']) >= 300, `the tunnel's life, got ${String(line['durationMs'])}`);
  });
});
