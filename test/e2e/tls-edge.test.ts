// The TLS and TCP edge through the whole system: YAML on the controller, a real node, real TLS clients.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import {
  type AddressInfo,
  createServer as createNetServer,
  connect as netConnect,
  type Server,
  type Socket,
} from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, get, startBackend } from '../helpers/http.js';
import { type KeyPair, makeCa, makeLeaf } from '../helpers/tls.js';

const exec = promisify(execFile);
const GiB = 1024 * 1024 * 1024;

interface SClient {
  code: number;
  out: string;
}

/** `openssl s_client` against 127.0.0.1:port; never waits for stdin. */
async function sClient(port: number, args: string[], brief = true): Promise<SClient> {
  try {
    const running = exec(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, ...(brief ? ['-brief'] : []), ...args],
      {
        timeout: 10_000,
        encoding: 'utf8',
      },
    );
    running.child.stdin?.end();
    const { stdout, stderr } = await running;
    return { code: 0, out: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** `curl -sk` to https://<host>:<port><path> resolved to loopback; returns the body and the HTTP version. */
async function curl(port: number, host: string, path: string, extra: string[] = []) {
  const { stdout } = await exec(
    'curl',
    [
      '-sk',
      '--max-time',
      '10',
      '--resolve',
      `${host}:${port}:127.0.0.1`,
      '-w',
      '\n%{http_code} %{http_version}',
      ...extra,
      `https://${host}:${port}${path}`,
    ],
    { timeout: 15_000 },
  );
  const cut = stdout.lastIndexOf('\n');
  const [status, version] = stdout.slice(cut + 1).split(' ');
  return { body: stdout.slice(0, cut), status: Number(status), version };
}

/** The subject CN of the certificate a TLS server presents for `servername`. */
function peerCn(port: number, servername: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve(String(cert.subject?.CN ?? ''));
    });
    socket.on('error', reject);
  });
}

async function listening(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** Deterministic bytes: block i of a stream is sha256(seed || i) repeated. */
function* blocks(total: number): Generator<Buffer> {
  const block = Buffer.alloc(1 << 20);
  for (let sent = 0, i = 0; sent < total; i++) {
    const seed = createHash('sha256').update(`berth-${i}`).digest();
    for (let o = 0; o < block.length; o += seed.length) seed.copy(block, o);
    const n = Math.min(block.length, total - sent);
    yield n === block.length ? block : block.subarray(0, n);
    sent += n;
  }
}

function expectedDigest(total: number): string {
  const h = createHash('sha256');
  for (const b of blocks(total)) h.update(b);
  return h.digest('hex');
}

describe('the TLS and TCP edge, configured through the controller', () => {
  let cluster: Cluster;
  let app: Backend;
  let dir: string;
  let ca: KeyPair;
  let passBackend: Server;
  let banner: Server;
  let recorder: Server;
  const recorded: Buffer[] = [];
  let ports: Record<string, number>;

  before(async () => {
    app = await startBackend('app');
    cluster = await Cluster.create();
    dir = join(cluster.dir, 'certs');
    await mkdir(dir);
    ca = await makeCa(dir);
    const site = await makeLeaf(dir, ca, 'site', { names: ['a.test', 'compat.test'], type: 'rsa' });
    const wild = await makeLeaf(dir, ca, 'wild', { names: ['*.wild.test'], type: 'ec' });
    const backendCa = await makeCa(dir, 'backend-ca');
    const own = await makeLeaf(dir, backendCa, 'pass', { names: ['pass.test'], type: 'ec' });

    // Passthrough target: holds its own key; `GET /big` streams 1 GiB, anything else echoes a line.
    passBackend = createTlsServer({ cert: own.certPem, key: own.keyPem }, (socket) => {
      socket.once('data', (d: Buffer) => {
        if (d.toString().startsWith('big')) {
          const it = blocks(GiB);
          const pump = (): void => {
            for (let r = it.next(); !r.done; r = it.next())
              if (!socket.write(r.value)) return void socket.once('drain', pump);
            socket.end();
          };
          pump();
        } else socket.end(`pass-backend got ${d.toString()}`);
      });
      socket.on('error', () => {});
    });
    // A server-first protocol, like SSH: it speaks before the client does, then echoes.
    banner = createNetServer((socket: Socket) => {
      socket.write('SSH-2.0-berth-test\r\n');
      socket.pipe(socket);
      socket.on('error', () => {});
    });
    // Records the first bytes of every connection, for the PROXY v2 check.
    recorder = createNetServer((socket: Socket) => {
      let got = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        // The client sends one `x` after whatever the proxy puts in front of it.
        if (got.at(-1) === 0x78) {
          recorded.push(got);
          socket.end('ok');
        }
      });
      socket.on('error', () => {});
    });
    const [passPort, bannerPort, recorderPort] = await Promise.all([
      listening(passBackend),
      listening(banner),
      listening(recorder),
    ]);

    await cluster.writeDynamic(
      'edge.yml',
      `http:
  routers:
    app:
      rule: Host(\`a.test\`) || HostRegexp(\`^[a-z]+\\.wild\\.test$\`) || Host(\`unknown.test\`)
      entryPoints: [websecure, mixed]
      service: app
      tls: {}
    compat:
      rule: Host(\`compat.test\`)
      entryPoints: [websecure]
      service: app
      tls:
        options: compatible
    plain:
      rule: Host(\`a.test\`)
      entryPoints: [mixed, pp]
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: ${app.url}
tcp:
  routers:
    pass:
      entryPoints: [websecure]
      rule: HostSNI(\`pass.test\`)
      service: pass
      tls:
        passthrough: true
    ssh:
      entryPoints: [ssh]
      rule: HostSNI(\`*\`)
      service: ssh
    recorded:
      entryPoints: [ppout]
      rule: HostSNI(\`*\`)
      service: recorder
  services:
    pass:
      loadBalancer:
        servers:
          - address: 127.0.0.1:${passPort}
    ssh:
      loadBalancer:
        servers:
          - address: 127.0.0.1:${bannerPort}
    recorder:
      loadBalancer:
        servers:
          - address: 127.0.0.1:${recorderPort}
        proxyProtocol:
          version: 2
tls:
  certificates:
    - certFile: ${site.certFile}
      keyFile: ${site.keyFile}
    - certFile: ${wild.certFile}
      keyFile: ${wild.keyFile}
`,
    );
    await cluster.startController({
      staticYaml: `entryPoints:
  web:
    address: "127.0.0.1:0"
    http:
      redirections:
        entryPoint:
          to: ":443"
  websecure:
    address: "127.0.0.1:0"
  ssh:
    address: "127.0.0.1:0"
  mixed:
    address: "127.0.0.1:0"
  pp:
    address: "127.0.0.1:0"
    proxyProtocol:
      trustedIPs: ["127.0.0.1/32"]
  ppout:
    address: "127.0.0.1:0"
providers:
  file:
    directory: ./dynamic
`,
    });
    await cluster.startNode('node-1');
    const status = await cluster.nodeStatus('node-1', (s) => s.listeners.length >= 6);
    ports = Object.fromEntries(
      status.listeners.map((l) => [l.entryPoint, Number(l.address.slice(l.address.lastIndexOf(':') + 1))]),
    );
  });

  after(async () => {
    await cluster?.close();
    await app?.close();
    for (const s of [passBackend, banner, recorder]) s?.close();
  });

  it('1. refuses a CBC suite and TLS 1.1 under strict, accepts CBC under compatible, negotiates profile suites and h2', async () => {
    const p = ports['websecure']!;
    const cbcStrict = await sClient(p, [
      '-servername',
      'a.test',
      '-tls1_2',
      '-cipher',
      'ECDHE-RSA-AES128-SHA',
    ]);
    assert.notEqual(cbcStrict.code, 0, cbcStrict.out);
    const old = await sClient(p, ['-servername', 'a.test', '-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0']);
    assert.notEqual(old.code, 0, old.out);
    const cbcCompat = await sClient(p, [
      '-servername',
      'compat.test',
      '-tls1_2',
      '-cipher',
      'ECDHE-RSA-AES128-SHA',
    ]);
    assert.equal(cbcCompat.code, 0, cbcCompat.out);
    assert.match(cbcCompat.out, /Ciphersuite: ECDHE-RSA-AES128-SHA/);
    const oldCompat = await sClient(p, [
      '-servername',
      'compat.test',
      '-tls1_1',
      '-cipher',
      'DEFAULT:@SECLEVEL=0',
    ]);
    assert.notEqual(oldCompat.code, 0, 'compatible still needs TLS 1.2');
    const v12 = await sClient(p, ['-servername', 'a.test', '-tls1_2']);
    assert.equal(v12.code, 0, v12.out);
    assert.match(v12.out, /Ciphersuite: ECDHE-RSA-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)/);
    const h2 = await curl(p, 'a.test', '/h2', ['--http2']);
    assert.equal(h2.status, 200);
    assert.equal(h2.version, '2');
    assert.match(h2.body, /backend=app path=\/h2/);
    assert.equal(app.lastHeaders?.['x-forwarded-proto'], 'https');
    const h1 = await curl(p, 'a.test', '/h1', ['--http1.1']);
    assert.equal(h1.version, '1.1');
  });

  it('2. serves the exact, wildcard and default certificates; sniStrict refuses unknown names', async () => {
    const p = ports['websecure']!;
    assert.equal(await peerCn(p, 'a.test'), 'a.test');
    assert.equal(await peerCn(p, 'x.wild.test'), '*.wild.test');
    assert.match(await peerCn(p, 'unknown.test'), /DEFAULT/i);
    await cluster.writeDynamic('strict.yml', 'tls:\n  options:\n    default:\n      sniStrict: true\n');
    await eventually(async () => (await sClient(p, ['-servername', 'unknown.test'])).code !== 0, 15_000);
    assert.equal(await peerCn(p, 'a.test'), 'a.test', 'known names still served');
  });

  it('2b. resumes on a second node a TLS session a client opened on the first (ticket keys shared through the snapshot)', async () => {
    await cluster.startNode('node-2');
    const other = await cluster.nodeStatus('node-2', (s) => s.listeners.length >= 6);
    const port2 = Number(
      other.listeners
        .find((l) => l.entryPoint === 'websecure')!
        .address.split(':')
        .at(-1),
    );
    const session = join(dir, 'session.pem');
    const first = await sClient(
      ports['websecure']!,
      ['-servername', 'a.test', '-tls1_2', '-sess_out', session],
      false,
    );
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /^New, /m);
    const second = await sClient(port2, ['-servername', 'a.test', '-tls1_2', '-sess_in', session], false);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /^Reused, /m, 'node-2 decrypted the ticket node-1 issued');
  });

  it('3. answers :80 with a permanent redirect to https, keeping path and query', async () => {
    const res = await get(ports['web']!, 'a.test', '/some/path?x=1&y=two');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, 'https://a.test/some/path?x=1&y=two');
  });

  it('4. passes TLS through: the client sees the backend’s certificate, 1 GiB arrives byte-exact, terminated routes still work', async () => {
    const p = ports['websecure']!;
    assert.equal(await peerCn(p, 'pass.test'), 'pass.test');
    const digest = await new Promise<string>((resolve, reject) => {
      const h = createHash('sha256');
      let n = 0;
      const socket = tlsConnect(
        { host: '127.0.0.1', port: p, servername: 'pass.test', rejectUnauthorized: false },
        () => socket.write('big'),
      );
      socket.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      socket.on('end', () => (n === GiB ? resolve(h.digest('hex')) : reject(new Error(`got ${n} bytes`))));
      socket.on('error', reject);
    });
    assert.equal(digest, expectedDigest(GiB));
    const terminated = await curl(p, 'a.test', '/still');
    assert.equal(terminated.status, 200);
  });

  it('5. routes plain TCP to a server-first backend on its own entry point, and TLS and HTTP on one port', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = netConnect(ports['ssh']!, '127.0.0.1');
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got === 'SSH-2.0-berth-test\r\n') s.write('hello\n');
        if (got.endsWith('hello\n')) {
          s.end();
          resolve(got);
        }
      });
      s.on('error', reject);
    });
    assert.equal(text, 'SSH-2.0-berth-test\r\nhello\n');
    const mixed = ports['mixed']!;
    const plain = await get(mixed, 'a.test', '/plain');
    assert.equal(plain.status, 200);
    const secure = await curl(mixed, 'a.test', '/secure');
    assert.equal(secure.status, 200);
    assert.match(secure.body, /path=\/secure/);
  });

  it('6. sends a byte-exact PROXY v2 header with the client address; refuses a PROXY header from an untrusted source', async () => {
    const local = await new Promise<{ port: number }>((resolve, reject) => {
      const s = netConnect({ port: ports['ppout']!, host: '127.0.0.1', localAddress: '127.0.0.3' }, () => {
        const port = s.localPort ?? 0;
        s.write('x');
        s.on('data', () => {});
        s.on('end', () => resolve({ port }));
      });
      s.on('error', reject);
    });
    const header = recorded.at(-1)!;
    const expected = Buffer.concat([
      Buffer.from('0d0a0d0a000d0a515549540a', 'hex'),
      Buffer.from([0x21, 0x11, 0x00, 12]),
      Buffer.from([127, 0, 0, 3]),
      Buffer.from([127, 0, 0, 1]),
      Buffer.from([local.port >> 8, local.port & 0xff, ports['ppout']! >> 8, ports['ppout']! & 0xff]),
    ]);
    assert.deepEqual(header.subarray(0, expected.length), expected);
    assert.equal(header.subarray(expected.length).toString(), 'x');

    // Trusted source: its PROXY header's client address becomes X-Forwarded-For.
    const trusted = await rawHttp(ports['pp']!, '127.0.0.1', 'PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n');
    assert.match(trusted, /^HTTP\/1.1 200/);
    assert.equal(app.lastHeaders?.['x-forwarded-for'], '203.0.113.7');
    // Untrusted source: refused, nothing reaches the backend.
    const hits = app.hits;
    const refused = await rawHttp(ports['pp']!, '127.0.0.2', 'PROXY TCP4 203.0.113.8 127.0.0.1 5555 80\r\n');
    assert.doesNotMatch(refused, /^HTTP\/1.1 200/);
    assert.equal(app.hits, hits, 'the refused connection reached no backend');
  });
});

function rawHttp(port: number, localAddress: string, prefix: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = netConnect({ port, host: '127.0.0.1', localAddress }, () => {
      s.write(`${prefix}GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => {
      got += d.toString();
    });
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
  });
}
