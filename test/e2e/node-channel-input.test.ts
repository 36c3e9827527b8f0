// Issue 10: a holder of the join secret cannot make the controller buffer, inflate or log much.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { deflateRawSync, gzipSync } from 'node:zlib';
import {
  createNodeKeyAndCsr,
  encodeMessage,
  enrollNode,
  MAX_NODE_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  parseToken,
} from '@berth/protocol';
import WebSocket from 'ws';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, startBackend, whoAnswers } from '../helpers/http.js';

/** A node's credentials: what a holder of the join secret gets by enrolling. */
interface Creds {
  nodeId: string;
  keyPem: string;
  certPem: string;
}

async function enroll(port: number, secret: string, ca: string): Promise<Creds> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr('input-test');
  const { nodeId, certificate } = await enrollNode({
    url: `wss://127.0.0.1:${port}`,
    ca,
    secret,
    name: 'input-test',
    csrPem,
  });
  return { nodeId, keyPem, certPem: certificate };
}

const hello = (name: string, nodeId: string) =>
  encodeMessage({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    nodeId,
    name,
    appliedVersion: 0,
    appliedEpoch: null,
    appliedHash: null,
    listeners: [],
  });

/** Opens the node channel with an enrolled node's certificate (no CA check: the test knows whom it dials). */
async function open(port: number, creds: Creds): Promise<WebSocket> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/v1/connect`, {
    rejectUnauthorized: false,
    cert: creds.certPem,
    key: creds.keyPem,
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

const closed = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('error', () => {});
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });

/** A WebSocket upgrade by hand, offering permessage-deflate; resolves with the socket and response head. */
async function rawUpgrade(port: number, creds: Creds): Promise<{ socket: TLSSocket; head: string }> {
  const socket = tlsConnect({
    port,
    host: '127.0.0.1',
    rejectUnauthorized: false,
    cert: creds.certPem,
    key: creds.keyPem,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(
    'GET /v1/connect HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\n` +
      'Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n',
  );
  const head = await new Promise<string>((resolve) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve(got.slice(0, got.indexOf('\r\n\r\n')));
      }
    };
    socket.on('data', onData);
  });
  return { socket, head };
}

/** One masked client frame, FIN set; `rsv1` marks it compressed. */
function frame(opcode: number, payload: Buffer, rsv1 = false): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  if (len < 126) head[1] = 0x80 | len;
  else if (len < 65536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i % 4]!;
  return Buffer.concat([head, mask, masked]);
}

const rssKb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

describe('bounded input from nodes', () => {
  let cluster: Cluster;
  let backend: Backend;
  let port: number;
  let creds: Creds;

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic(
      'routes.yml',
      `http:\n  routers:\n    app:\n      rule: Host(\`app.test\`)\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: ${backend.url}\n`,
    );
    await cluster.startController();
    port = cluster.controller!.nodesPort;
    const token = parseToken(cluster.controller!.token);
    creds = await enroll(
      port,
      token.secret,
      await readFile(join(cluster.dir, 'controller', 'pki', 'ca.pem'), 'utf8'),
    );
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it('closes connections sending oversized, compressed or binary frames, and stays small', async () => {
    const pid = cluster.controller!.child.pid!;
    const logBefore = cluster.controller!.child.output().length;
    const rssBefore = rssKb(pid);

    // A hello past the message limit: closed by ws before it is buffered (1009).
    for (let i = 0; i < 4; i++) {
      const ws = await open(port, creds);
      const done = closed(ws);
      ws.send(hello('x'.repeat(MAX_NODE_MESSAGE_BYTES + 1024), creds.nodeId));
      assert.equal((await done).code, 1009);
    }
    // A hello within the message limit whose name is far too long: refused by the codec (1008).
    {
      const ws = await open(port, creds);
      const done = closed(ws);
      ws.send(hello('n'.repeat(200_000), creds.nodeId));
      const { code, reason } = await done;
      assert.equal(code, 1008);
      assert.equal(reason, 'BERTH_PROTOCOL_BAD_FRAME');
    }
    // A gzip'd binary frame that would inflate to 200 MiB: binary is refused unopened (1003).
    {
      const ws = await open(port, creds);
      const done = closed(ws);
      ws.send(gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20)), { binary: true });
      assert.equal((await done).code, 1003);
    }
    // A compressed (RSV1) frame of 10 MiB after offering permessage-deflate: not negotiated, refused.
    {
      const { socket, head } = await rawUpgrade(port, creds);
      assert.match(head, /^HTTP\/1\.1 101/);
      assert.doesNotMatch(head, /permessage-deflate/i, 'the controller does not negotiate compression');
      const gone = new Promise((r) => socket.once('close', r));
      socket.on('error', () => {});
      socket.write(frame(1, deflateRawSync(Buffer.alloc(10 * 1024 * 1024, 0x20)), true));
      await gone;
    }

    // The socket's close can reach this test before the controller's log line about it does.
    const output = () => cluster.controller!.child.output().slice(logBefore);
    await eventually(() => /WS_ERR_UNEXPECTED_RSV_1/.test(output()), 5_000, output).catch(() => undefined);
    const log = output();
    assert.ok(log.length < 8 * 1024, `the controller logged ${log.length} bytes:\n${log.slice(0, 2000)}`);
    assert.match(log, /is 200000 characters long \(at most 256\)/);
    assert.match(log, /WS_ERR_UNSUPPORTED_MESSAGE_LENGTH/);
    assert.match(log, /WS_ERR_UNEXPECTED_RSV_1/);
    const rssAfter = rssKb(pid);
    assert.ok(rssAfter - rssBefore < 100 * 1024, `RSS grew from ${rssBefore} kB to ${rssAfter} kB`);
    console.log(
      `input: controller RSS ${rssBefore} kB → ${rssAfter} kB, ${log.length} bytes of log for 7 bad connections`,
    );

    // The controller still serves nodes.
    await cluster.startNode('node-1');
    assert.equal(await whoAnswers(await cluster.webPort('node-1'), 'app.test'), 'a');
  });
});
