// HTTP servers behind serversTransport.proxyProtocol: every backend connection opens with its own client's PROXY header and is never shared.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, createServer as createHttpServer, request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { parseProxyHeader } from '../src/tcp/proxy-protocol.js';
import { applied, Cleanups, planeFor } from './support/plane.js';
import { body } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

interface Seen {
  source: string;
  requests: string[];
}

/** An HTTP server behind a PROXY protocol parser: records each connection's header and requests. */
async function proxiedBackend(): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const http = createHttpServer((req, res) => {
    const entry = (req.socket as Socket & { entry?: Seen }).entry;
    entry?.requests.push(req.url ?? '');
    res.end(`from ${entry?.source}`);
  });
  http.on('upgrade', (req, socket: Socket, head: Buffer) => {
    const entry = (socket as Socket & { entry?: Seen }).entry;
    entry?.requests.push(`upgrade ${req.url}`);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfrom ${entry?.source}|`,
    );
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseProxyHeader(buf);
      if (parsed.kind === 'more') return;
      socket.removeListener('data', onData);
      if (parsed.kind !== 'header') {
        socket.destroy();
        return;
      }
      const entry: Seen = {
        source: `${parsed.header.source?.ip}:${parsed.header.source?.port} v${parsed.header.version}`,
        requests: [],
      };
      seen.push(entry);
      Object.assign(socket, { entry });
      socket.pause();
      socket.unshift(parsed.rest);
      http.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.add(async () => {
    server.close();
    http.close();
  });
  return { port: (server.address() as { port: number }).port, seen };
}

function get(port: number, path: string, agent: Agent): Promise<{ body: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ body: text, localPort: req.socket?.localPort ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('PROXY protocol to HTTP servers', () => {
  it('gives each client connection its own backend connection carrying its address', async () => {
    const backend = await proxiedBackend();
    const plane = planeFor(cleanups);
    const snapshot = body(
      { r: { rule: 'PathPrefix(`/`)', service: 's' } },
      {
        s: {
          loadBalancer: { servers: [{ url: `http://127.0.0.1:${backend.port}` }], serversTransport: 'pp' },
        },
      },
    );
    snapshot.http.serversTransports = { pp: { proxyProtocol: { version: 1 } } };
    const port = await applied(plane, snapshot);

    const alice = new Agent({ keepAlive: true, maxSockets: 1 });
    const bob = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.add(async () => {
      alice.destroy();
      bob.destroy();
    });
    const a1 = await get(port, '/a1', alice);
    const b1 = await get(port, '/b1', bob);
    const a2 = await get(port, '/a2', alice);
    assert.equal(a1.localPort, a2.localPort, 'alice kept her connection');
    assert.equal(a1.body, `from 127.0.0.1:${a1.localPort} v1`);
    assert.equal(b1.body, `from 127.0.0.1:${b1.localPort} v1`);
    assert.equal(a2.body, a1.body);
    // Two client connections, two backend connections; alice's second request reused hers.
    assert.equal(backend.seen.length, 2);
    assert.deepEqual(
      backend.seen.map((s) => s.requests),
      [['/a1', '/a2'], ['/b1']],
    );
  });

  it("opens an Upgrade tunnel with the client's PROXY header too", async () => {
    const backend = await proxiedBackend();
    const plane = planeFor(cleanups);
    const snapshot = body(
      { r: { rule: 'PathPrefix(`/`)', service: 's' } },
      {
        s: {
          loadBalancer: { servers: [{ url: `http://127.0.0.1:${backend.port}` }], serversTransport: 'pp' },
        },
      },
    );
    snapshot.http.serversTransports = { pp: { proxyProtocol: { version: 2 } } };
    const port = await applied(plane, snapshot);
    const client = connect({ port, host: '127.0.0.1' });
    await once(client, 'connect');
    cleanups.add(async () => {
      client.destroy();
    });
    client.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    let text = '';
    client.setEncoding('utf8');
    await new Promise<void>((resolve) => {
      client.on('data', (c: string) => {
        text += c;
        if (text.includes('|') && !text.includes('ping')) client.write('ping');
        if (text.endsWith('ping')) resolve();
      });
    });
    assert.match(text, /^HTTP\/1\.1 101/);
    assert.ok(text.includes(`from 127.0.0.1:${client.localPort} v2|ping`), text);
    assert.deepEqual(
      backend.seen.map((x) => x.requests),
      [['upgrade /ws']],
    );
  });
});
