// A node applies only snapshots signed by a key its pinned CA certified, checked here against a stand-in controller.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ControllerPki, ensureControllerPki } from '@berth/controller';
import {
  decodeFrame,
  encodeSnapshot,
  formatToken,
  hashBody,
  type NodeMessage,
  newSecret,
  type Snapshot,
  type SnapshotBody,
} from '@berth/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import { Cluster, eventually } from '../helpers/cluster.js';

function snapshot(version: number): Snapshot {
  const body: SnapshotBody = { schema: 1, entryPoints: {}, http: { routers: {}, services: {} } };
  return { epoch: 'test-epoch', version, hash: hashBody(body), createdAt: new Date().toISOString(), body };
}

describe('a node receiving snapshots from its controller', () => {
  let cluster: Cluster;
  let pki: ControllerPki;
  let stranger: ControllerPki;
  let server: Server;
  let wss: WebSocketServer;
  let link: WebSocket | null = null;
  const received: NodeMessage[] = [];

  before(async () => {
    cluster = await Cluster.create();
    pki = await ensureControllerPki(join(cluster.dir, 'controller'), ['127.0.0.1']);
    stranger = await ensureControllerPki(join(cluster.dir, 'stranger'), ['127.0.0.1']);
    server = createServer({ cert: pki.certPem + pki.caCertPem, key: pki.keyPem });
    // Enrollment as the controller does it: a certificate from the CA for the node's key.
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const { name, csr } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          name: string;
          csr: string;
        };
        const nodeId = randomUUID();
        const issued = await pki.issueNodeCertificate({ csrPem: csr, nodeId, name, ttlMs: 3600_000 });
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ nodeId, certificate: issued.certPem }));
      });
    });
    wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => {
      link = ws;
      ws.on('message', (data, isBinary) => {
        const decoded = decodeFrame(data as Buffer, isBinary);
        if (decoded.ok && decoded.message.type !== 'heartbeat') received.push(decoded.message as NodeMessage);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const token = formatToken({
      url: `wss://127.0.0.1:${port}`,
      caFingerprint: pki.caFingerprint,
      secret: newSecret(),
    });
    await cluster.startNode('node-1', { token, waitApplied: false });
    await eventually(
      () => received.some((m) => m.type === 'hello'),
      20_000,
      () => cluster.logs(),
    );
  });

  after(async () => {
    await cluster?.close();
    for (const c of wss?.clients ?? []) c.terminate();
    wss?.close();
    server?.close();
  });

  const answerTo = (version: number) =>
    eventually(
      () => received.find((m) => (m.type === 'ack' || m.type === 'nack') && m.version === version),
      20_000,
      () => cluster.logs(),
    );

  it('NACKs an unsigned snapshot with BERTH_SNAPSHOT_SIGNATURE', async () => {
    link?.send(encodeSnapshot(snapshot(1)), { binary: true });
    const answer = await answerTo(1);
    assert.equal(answer.type, 'nack');
    assert.equal(answer.type === 'nack' && answer.code, 'BERTH_SNAPSHOT_SIGNATURE');
  });

  it('NACKs a snapshot signed by a key another CA certified', async () => {
    link?.send(encodeSnapshot(stranger.snapshotSigner.sign(snapshot(2))), { binary: true });
    const answer = await answerTo(2);
    assert.equal(answer.type === 'nack' && answer.code, 'BERTH_SNAPSHOT_SIGNATURE');
  });

  it('applies and ACKs a snapshot signed by the pinned CA', async () => {
    link?.send(encodeSnapshot(pki.snapshotSigner.sign(snapshot(3))), { binary: true });
    const answer = await answerTo(3);
    assert.equal(answer.type, 'ack');
    const status = await cluster.nodeStatus('node-1', (s) => s.appliedVersion === 3);
    assert.equal(status.fromCache, false);
  });
});
