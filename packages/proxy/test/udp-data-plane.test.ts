// UDP entry points through a real data plane on loopback: sessions, weighted balancing, idle timeout, snapshot changes, the cap.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import type { EntryPoint, UdpConfig } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { pino } from 'pino';
import { DataPlane } from '../src/data-plane.js';
import { captureLog, waitFor } from './support/log-capture.js';

interface Echo {
  name: string;
  port: number;
  /** Source ports the server saw: one per session the proxy opened to it. */
  peers: Set<number>;
  received: number;
  close(): void;
}

const sockets: Socket[] = [];
const planes: DataPlane[] = [];
after(async () => {
  for (const s of sockets) s.close();
  for (const p of planes) await p.close();
});

async function echo(name: string): Promise<Echo> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const out: Echo = { name, port: 0, peers: new Set(), received: 0, close: () => socket.close() };
  socket.on('message', (msg, rinfo) => {
    out.received++;
    out.peers.add(rinfo.port);
    socket.send(`${name}:${msg.toString()}`, rinfo.port, rinfo.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  out.port = socket.address().port;
  return out;
}

async function client(): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

/** Sends `text` to the entry point and returns the reply and the port it came from. */
async function ask(
  socket: Socket,
  port: number,
  text: string,
  timeoutMs = 2000,
): Promise<{ text: string; from: number }> {
  const reply = once(socket, 'message', { signal: AbortSignal.timeout(timeoutMs) }) as Promise<
    [Buffer, { port: number }]
  >;
  socket.send(text, port, '127.0.0.1');
  const [msg, rinfo] = await reply;
  return { text: msg.toString(), from: rinfo.port };
}

function body(udp: UdpConfig, entryPoint: EntryPoint = { address: ':53/udp' }): SnapshotBody {
  return { schema: 1, entryPoints: { dns: entryPoint }, http: { routers: {}, services: {} }, udp };
}

function servers(...echoes: Echo[]): UdpConfig['services'][string] {
  return { loadBalancer: { servers: echoes.map((e) => ({ address: `127.0.0.1:${e.port}` })) } };
}

async function plane(b: SnapshotBody, extra: Partial<ConstructorParameters<typeof DataPlane>[0]> = {}) {
  const p = new DataPlane({
    logger: pino({ level: 'silent' }),
    entryPointOverrides: { dns: '127.0.0.1:0' },
    ...extra,
  });
  planes.push(p);
  const result = await p.apply(b);
  assert.ok(result.ok, JSON.stringify(result));
  const listener = result.listeners.find((l) => l.entryPoint === 'dns');
  assert.equal(listener?.protocol, 'udp');
  const port = Number(/:(\d+)$/.exec(listener?.address ?? '')?.[1]);
  return { p, port };
}

describe('UDP entry points', () => {
  it('forwards a client session to one server and sends its replies back from the entry point', async () => {
    const one = await echo('one');
    const { p, port } = await plane(
      body({ routers: { dns: { service: 'svc', entryPoints: ['dns'] } }, services: { svc: servers(one) } }),
    );
    const c = await client();
    for (const text of ['a', 'b', 'c'])
      assert.deepEqual(await ask(c, port, text), { text: `one:${text}`, from: port });
    // Three datagrams, one session: the server saw one source port.
    assert.equal(one.peers.size, 1);
    assert.equal(p.udp?.sessionCount(), 1);
    assert.match(p.metrics.expose(), /berth_udp_sessions\{entrypoint="dns",router="dns"\} 1/);
  });

  it('spreads new sessions over the servers by weighted round robin', async () => {
    const [a, b, c] = [await echo('a'), await echo('b'), await echo('c')];
    const { port } = await plane(
      body({
        routers: { dns: { service: 'mix', entryPoints: ['dns'] } },
        services: {
          mix: {
            weighted: {
              services: [
                { name: 'ab', weight: 3 },
                { name: 'c', weight: 1 },
              ],
            },
          },
          ab: servers(a, b),
          c: servers(c),
        },
      }),
    );
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      const s = await client();
      const reply = await ask(s, port, 'x');
      seen.push(reply.text.split(':')[0]!);
      // The same client stays on its server.
      assert.equal((await ask(s, port, 'y')).text.split(':')[0], seen.at(-1));
    }
    const count = (n: string) => seen.filter((x) => x === n).length;
    assert.deepEqual([count('a'), count('b'), count('c')], [3, 3, 2]);
  });

  it('ends a session after udp.timeout without datagrams; the next one starts a new session', async () => {
    const one = await echo('one');
    const { p, port } = await plane(
      body(
        { routers: { dns: { service: 'svc' } }, services: { svc: servers(one) } },
        { address: ':53/udp', udp: { timeout: '200ms' } },
      ),
    );
    const c = await client();
    await ask(c, port, 'a');
    await waitFor(() => p.udp?.sessionCount() === 0, 'the idle session to end', 2000);
    await ask(c, port, 'b');
    assert.equal(one.peers.size, 2);
  });

  it('keeps sessions whose server a new snapshot still routes to, and moves the others', async () => {
    const [a, b] = [await echo('a'), await echo('b')];
    const routers = { dns: { service: 'svc', entryPoints: ['dns'] } };
    const { p, port } = await plane(body({ routers, services: { svc: servers(a, b) } }));
    const first = await client();
    const second = await client();
    assert.equal((await ask(first, port, '1')).text, 'a:1');
    assert.equal((await ask(second, port, '1')).text, 'b:1');
    // `a` goes away: its session ends; `b`'s session is kept (same upstream socket).
    assert.ok((await p.apply(body({ routers, services: { svc: servers(b) } }))).ok);
    assert.equal((await ask(first, port, '2')).text, 'b:2');
    assert.equal((await ask(second, port, '2')).text, 'b:2');
    assert.equal(b.peers.size, 2);
    // No router left: datagrams are dropped, sessions closed.
    assert.ok((await p.apply(body({ routers: {}, services: {} }))).ok);
    assert.equal(p.udp?.sessionCount(), 0);
    await assert.rejects(ask(first, port, '3', 300));
  });

  it('holds at most udpMaxSessions sessions, says so once, and takes new clients when one ends', async () => {
    const one = await echo('one');
    const log = captureLog('warn');
    const { p, port } = await plane(
      body(
        { routers: { dns: { service: 'svc' } }, services: { svc: servers(one) } },
        { address: ':53/udp', udp: { timeout: '300ms' } },
      ),
      { logger: log.logger, udpMaxSessions: 2 },
    );
    const [c1, c2, c3] = [await client(), await client(), await client()];
    await ask(c1, port, 'a');
    await ask(c2, port, 'a');
    await assert.rejects(ask(c3, port, 'a', 200));
    await assert.rejects(ask(c3, port, 'b', 100));
    assert.equal(log.lines.filter((l) => l.code === 'BERTH_PROXY_UDP_SESSIONS_FULL').length, 1);
    await waitFor(() => p.udp?.sessionCount() === 0, 'sessions to time out', 2000);
    assert.equal((await ask(c3, port, 'c')).text, 'one:c');
  });

  it('refuses a snapshot whose UDP address cannot be bound, and keeps serving the previous one', async () => {
    const taken = await client();
    const one = await echo('one');
    const { p, port } = await plane(
      body({ routers: { dns: { service: 'svc' } }, services: { svc: servers(one) } }),
    );
    const busy = new DataPlane({
      logger: pino({ level: 'silent' }),
      entryPointOverrides: { dns: `127.0.0.1:${taken.address().port}` },
    });
    planes.push(busy);
    const refused = await busy.apply(body({ routers: {}, services: {} }));
    assert.equal(refused.ok, false);
    assert.equal((await ask(await client(), port, 'still')).text, 'one:still');
    assert.ok(p.listeners().some((l) => l.protocol === 'udp'));
  });
});
