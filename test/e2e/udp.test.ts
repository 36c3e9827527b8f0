// UDP end to end: a controller and a node with two workers as real processes, datagrams from the test's clients to its echo servers.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually } from '../helpers/cluster.js';

const sockets: Socket[] = [];

async function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

/** A server answering `name:<datagram>` to whoever sent it. */
async function echo(name: string): Promise<number> {
  const socket = await bound();
  socket.on('message', (msg, rinfo) => socket.send(`${name}:${msg.toString()}`, rinfo.port, rinfo.address));
  return socket.address().port;
}

async function ask(socket: Socket, port: number, text: string, timeoutMs = 1000): Promise<string> {
  const reply = once(socket, 'message', { signal: AbortSignal.timeout(timeoutMs) }) as Promise<[Buffer]>;
  socket.send(text, port, '127.0.0.1');
  return (await reply)[0].toString();
}

const routes = (...ports: number[]) =>
  `udp:\n  routers:\n    dns:\n      entryPoints: [dns]\n      service: dns\n  services:\n    dns:\n      loadBalancer:\n        servers:\n${ports.map((p) => `          - address: 127.0.0.1:${p}\n`).join('')}`;

describe('UDP through a controller and a node with two workers', () => {
  let cluster: Cluster;
  let port = 0;
  let a = 0;
  let b = 0;

  before(async () => {
    a = await echo('a');
    b = await echo('b');
    cluster = await Cluster.create();
    await cluster.writeDynamic('udp.yml', routes(a, b));
    await cluster.startController({
      staticYaml:
        'entryPoints:\n  web:\n    address: "127.0.0.1:0"\n  dns:\n    address: "127.0.0.1:0/udp"\n    udp:\n      timeout: 2s\nproviders:\n  file:\n    directory: ./dynamic\n',
    });
    await cluster.startNode('node-1', { workers: 2 });
    const status = await cluster.nodeStatus('node-1', (s) => s.listeners.some((l) => l.entryPoint === 'dns'));
    const dns = status.listeners.find((l) => l.entryPoint === 'dns');
    assert.equal((dns as { protocol?: string } | undefined)?.protocol, 'udp');
    port = Number(dns?.address.slice(dns.address.lastIndexOf(':') + 1));
  });

  after(async () => {
    for (const s of sockets) s.close();
    await cluster?.close();
  });

  it('answers each client from one server, new clients in turn across both', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const client = await bound();
      const first = await ask(client, port, `q${i}`);
      seen.push(first.split(':')[0]!);
      assert.equal(await ask(client, port, 'again'), `${seen.at(-1)}:again`);
    }
    assert.deepEqual([...seen].sort(), ['a', 'a', 'b', 'b']);
  });

  it('moves a client off a server the configuration drops, and shows UDP in the API', async () => {
    const client = await bound();
    const server = (await ask(client, port, 'x')).split(':')[0];
    const kept = server === 'a' ? b : a;
    await cluster.writeDynamic('udp.yml', routes(kept));
    const want = server === 'a' ? 'b' : 'a';
    await eventually(
      async () => (await ask(client, port, 'y', 300).catch(() => '')) === `${want}:y`,
      15_000,
      () => cluster.logs(),
    );
    const routers =
      await cluster.api<{ name: string; status: string; entryPoints: string[] }[]>('/api/v1/udp/routers');
    assert.deepEqual(
      routers.map((r) => [r.name, r.status, r.entryPoints]),
      [['dns@file', 'enabled', ['dns']]],
    );
  });
});
