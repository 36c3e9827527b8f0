// Every static setting the README shows, end to end: written in berth.yaml, carried by the snapshot, in effect on a real node.
// Covered elsewhere: entry point addresses and providers.file (every e2e test), redirections to a `:port` (tls-edge.test.ts).
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { WebSocket, WebSocketServer } from 'ws';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, freePort, get, startBackend } from '../helpers/http.js';
import { duplicateKeys } from '../helpers/json-keys.js';
import { makeCa, makeLeaf } from '../helpers/tls.js';

const STATIC = `entryPoints:
  web:
    address: "127.0.0.1:0"
    transport: { respondingTimeouts: { readTimeout: 1s, idleTimeout: 1s } }
    forwardedHeaders: { trustedIPs: ["127.0.0.1/32"] }
  other:
    address: "127.0.0.1:0"
    transport: { respondingTimeouts: { writeTimeout: 1s } }
    forwardedHeaders: { trustedIPs: ["10.0.0.0/8"] }
    http: { maxHeaderBytes: 4096 }
  websecure:
    address: "127.0.0.1:0"
  redir:
    address: "127.0.0.1:0"
    http: { redirections: { entryPoint: { to: websecure } } }
accessLog: { sampling: 0.1 } # 5xx are always logged
routeRemovalGrace: 2s
tls: { defaultProfile: compatible }
providers:
  file:
    directory: ./dynamic
`;

/** GET with extra request headers, on a fresh connection. */
function getWith(port: number, host: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', headers: { host, ...headers }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** `promise`, or a failure naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Resolves when the server closes `socket`; `sent` is written first. */
function closedByServer(socket: Socket, sent: string): Promise<string> {
  let got = '';
  socket.on('data', (d: Buffer) => {
    got += d.toString('latin1');
  });
  socket.on('error', () => {});
  socket.write(sent);
  return new Promise((resolve) => socket.once('close', () => resolve(got)));
}

describe('static settings of berth.yaml, on a real node', () => {
  let cluster: Cluster;
  let app: Backend;
  let big: Server;
  let echo: Server;
  let wss: WebSocketServer;
  let ports: Record<string, number>;

  before(async () => {
    app = await startBackend('app');
    // Streams 256 MiB, for writeTimeout: more than socket buffers hold for a client that reads nothing.
    big = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(1 << 20);
      let left = 256;
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      res.on('error', () => {});
    });
    echo = createServer();
    wss = new WebSocketServer({ server: echo });
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo:${String(data)}`)));
    await Promise.all(
      [big, echo].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))),
    );
    const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

    cluster = await Cluster.create();
    const certs = join(cluster.dir, 'certs');
    await mkdir(certs);
    const ca = await makeCa(certs);
    const site = await makeLeaf(certs, ca, 'site', { names: ['app.test'], type: 'rsa' });
    await cluster.writeDynamic(
      'app.yml',
      `http:
  routers:
    app:
      rule: Host(\`app.test\`)
      entryPoints: [web, other]
      service: app
    secure:
      rule: Host(\`app.test\`)
      entryPoints: [websecure]
      service: app
      tls: {}
    down:
      rule: Host(\`down.test\`)
      service: down
    big:
      rule: Host(\`big.test\`)
      service: big
  services:
    app:
      loadBalancer:
        servers: [{ url: ${app.url} }]
    down:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${await freePort()}" }]
    big:
      loadBalancer:
        servers: [{ url: ${urlOf(big)} }]
tls:
  certificates:
    - certFile: ${site.certFile}
      keyFile: ${site.keyFile}
`,
    );
    await cluster.writeDynamic(
      'ws.yml',
      `http:
  routers:
    ws:
      rule: Host(\`ws.test\`)
      service: ws
  services:
    ws:
      loadBalancer:
        servers: [{ url: ${urlOf(echo)} }]
`,
    );
    await cluster.startController({ staticYaml: STATIC });
    await cluster.startNode('node-1');
    const status = await cluster.nodeStatus('node-1', (s) => s.listeners.length === 4);
    ports = Object.fromEntries(
      status.listeners.map((l) => [l.entryPoint, Number(l.address.slice(l.address.lastIndexOf(':') + 1))]),
    );
  });

  after(async () => {
    await cluster?.close();
    await app?.close();
    for (const client of wss?.clients ?? []) client.terminate();
    for (const s of [big, echo]) {
      s?.closeAllConnections();
      s?.close();
    }
  });

  it('accessLog: samples successes, logs every 5xx, each line strict JSON with one "component"', async () => {
    const port = ports['web']!;
    for (let i = 0; i < 200; i++) assert.equal((await get(port, 'app.test', `/sampled/${i}`)).status, 200);
    for (let i = 0; i < 20; i++) assert.equal((await get(port, 'down.test', `/failed/${i}`)).status, 502);
    const node = cluster.nodes.get('node-1')!;
    const lines = () =>
      node.child
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes('"msg":"access"'));
    const failed = () => lines().filter((l) => l.includes('"path":"/failed/'));
    await eventually(
      () => failed().length === 20,
      10_000,
      () => node.child.output(),
    );
    const sampled = lines().filter((l) => l.includes('"path":"/sampled/')).length;
    // Binomial(200, 0.1): 20 on average; 0 or 60+ would take a broken sampler (odds below 1e-9).
    assert.ok(sampled >= 1 && sampled < 60, `about 10% of 200 successes logged, got ${sampled}`);
    for (const line of lines()) {
      assert.deepEqual(duplicateKeys(line), [], line);
      assert.equal(line.match(/"component":/g)?.length, 1, line);
      assert.equal((JSON.parse(line) as { component?: string }).component, 'access');
    }
  });

  it('accessLog: written by worker processes too, the same strict JSON', async () => {
    await cluster.startNode('node-w', { workers: 1 });
    const port = await cluster.webPort('node-w');
    for (let i = 0; i < 5; i++) assert.equal((await get(port, 'down.test', `/worker/${i}`)).status, 502);
    const node = cluster.nodes.get('node-w')!;
    const lines = () =>
      node.child
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes('"path":"/worker/'));
    await eventually(
      () => lines().length === 5,
      10_000,
      () => node.child.output(),
    );
    for (const line of lines()) {
      assert.deepEqual(duplicateKeys(line), [], line);
      assert.equal(typeof (JSON.parse(line) as { worker?: number }).worker, 'number', line);
    }
    await cluster.stopNode('node-w');
  });

  it('forwardedHeaders.trustedIPs: keeps X-Forwarded-For from a trusted peer only', async () => {
    const spoofed = { 'x-forwarded-for': '203.0.113.7' };
    assert.equal(await getWith(ports['web']!, 'app.test', spoofed), 200);
    assert.equal(String(app.lastHeaders?.['x-forwarded-for']), '203.0.113.7, 127.0.0.1');
    assert.equal(await getWith(ports['other']!, 'app.test', spoofed), 200);
    assert.equal(String(app.lastHeaders?.['x-forwarded-for']), '127.0.0.1');
  });

  it('respondingTimeouts.readTimeout: a request head not finished in time ends the connection', async () => {
    const socket = connect(ports['web']!, '127.0.0.1');
    const closed = closedByServer(socket, 'GET / HTTP/1.1\r\nHost: app.test\r\n');
    // The default (60 s) would not close it within this wait.
    const got = await within(closed, 15_000, 'the connection to close');
    assert.match(got, /^(HTTP\/1\.1 408|$)/);
  });

  it('respondingTimeouts.idleTimeout: an idle keep-alive connection is closed', async () => {
    const socket = connect(ports['web']!, '127.0.0.1');
    const closed = closedByServer(socket, 'GET /idle HTTP/1.1\r\nHost: app.test\r\n\r\n');
    // The default (180 s) would not close it within this wait.
    const got = await within(closed, 15_000, 'the connection to close');
    assert.match(got, /^HTTP\/1\.1 200/);
  });

  it('respondingTimeouts.writeTimeout: a response the client does not read in time is cut', async () => {
    const socket = connect(ports['other']!, '127.0.0.1');
    socket.pause();
    const closed = closedByServer(socket, 'GET /big HTTP/1.1\r\nHost: big.test\r\n\r\n');
    socket.pause();
    // Reads nothing for three times the timeout, then everything that comes.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    socket.resume();
    const got = await within(closed, 15_000, 'the connection to be cut');
    assert.match(got, /^HTTP\/1\.1 200/);
    assert.ok(got.length < 256 << 20, `cut short, got ${got.length} bytes`);
  });

  it('http.maxHeaderBytes: a larger request head is answered 431', async () => {
    assert.equal(await getWith(ports['other']!, 'app.test', { 'x-big': 'a'.repeat(8000) }), 431);
    assert.equal(await getWith(ports['web']!, 'app.test', { 'x-big': 'a'.repeat(8000) }), 200);
  });

  it('http.redirections: to an entry point by name, its port (none for :0) in the location', async () => {
    const res = await get(ports['redir']!, 'app.test', '/x?y=1');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, 'https://app.test/x?y=1');
  });

  it('tls.defaultProfile: compatible lets a client with only a CBC suite in', async () => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: ports['websecure']!,
      servername: 'app.test',
      rejectUnauthorized: false,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES128-SHA',
    });
    const cipher = await new Promise<string>((resolve, reject) => {
      socket.once('secureConnect', () => resolve(socket.getCipher().name));
      socket.once('error', reject);
    });
    socket.destroy();
    assert.equal(cipher, 'ECDHE-RSA-AES128-SHA');
  });

  it('every line the controller and nodes wrote is JSON with each key once', () => {
    const bad: string[] = [];
    for (const child of cluster.group.children) {
      for (const line of child.output().split('\n')) {
        if (line.trim() === '') continue;
        if (duplicateKeys(line).length > 0) bad.push(`${child.name}: ${line}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('routeRemovalGrace: a removed route’s WebSocket stays open for the grace, then closes', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${ports['web']!}/chat`, { headers: { host: 'ws.test' } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    const say = (text: string) =>
      new Promise<string>((resolve) => {
        ws.once('message', (data) => resolve(String(data)));
        ws.send(text);
      });
    assert.equal(await say('before'), 'echo:before');
    const before = (await cluster.nodeStatus('node-1')).appliedVersion;
    await rm(join(cluster.dynamicDir, 'ws.yml'));
    await cluster.nodeStatus('node-1', (s) => s.appliedVersion > before);
    assert.equal((await get(ports['web']!, 'ws.test')).status, 404, 'the route is gone');
    assert.equal(await say('within the grace'), 'echo:within the grace');
    // The default grace (30 s) would keep it open past this wait.
    await within(closed, 15_000, 'the WebSocket to close');
  });
});
