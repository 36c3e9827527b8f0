// Tests that the agent reports stats to a (stand-in) controller over the real node channel while connected.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { certificateFingerprint, decodeFrame, type Message, type NodeStats } from '@berth/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import { Agent } from '../src/agent/agent.js';
import { captureLog, waitFor } from './support/log-capture.js';
import { controllerTlsOptions, listenOnLoopback, makeNodeIdentity, makePki } from './support/pki.js';

const SECRET = 'T'.repeat(43);
const NODE_ID = '0b7c5d0e-8a7f-4c3e-9a55-3f1d2e4b6a70';

describe('the agent reporting stats', () => {
  let dir: string;
  let server: Server;
  let wss: WebSocketServer;
  let caPem: string;
  let port: number;
  const received: Message[] = [];
  const sockets = new Set<WebSocket>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-agent-stats-'));
    const pki = await makePki(dir);
    caPem = pki.caPem;
    // As the controller: the node authenticates with its certificate.
    server = createServer(controllerTlsOptions(pki));
    wss = new WebSocketServer({ server, path: '/v1/connect' });
    wss.on('connection', (ws, req) => {
      if (!(req.socket as TLSSocket).authorized) {
        ws.close(1008);
        return;
      }
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data, isBinary) => {
        const d = decodeFrame(data as Buffer, isBinary);
        if (d.ok) received.push(d.message);
      });
    });
    port = await listenOnLoopback(server);
  });

  after(async () => {
    for (const ws of sockets) ws.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('sends stats right after hello and then every interval, and stops when stopped', async () => {
    let calls = 0;
    let broken = false;
    const { logger, lines } = captureLog();
    const stats = (): NodeStats => {
      calls++;
      if (broken) throw new Error('metrics unavailable');
      return {
        at: 1000 + calls,
        servers: [{ service: 'api', url: 'http://127.0.0.1:1', status: 'down', since: 5 }],
        requests: [{ router: 'api', service: 'api', statusClass: '2xx', count: calls }],
        openConnections: 2,
      };
    };
    const agentDir = await mkdtemp(join(tmpdir(), 'berth-agent-node-'));
    await makeNodeIdentity(dir, agentDir, NODE_ID);
    const agent = new Agent({
      token: { url: `wss://127.0.0.1:${port}`, caFingerprint: certificateFingerprint(caPem), secret: SECRET },
      name: 'edge-1',
      dataDir: agentDir,
      applier: { apply: async () => ({ ok: true, listeners: [] }), listeners: () => [] },
      logger,
      statsProvider: stats,
      statsIntervalMs: 100,
    });
    try {
      await agent.start();
      const statsMessages = () => received.filter((m) => m.type === 'stats');
      await waitFor(() => statsMessages().length >= 3, 'three stats messages');
      assert.equal(received[0]?.type, 'hello', 'hello comes first');
      const first = statsMessages()[0];
      assert.deepEqual(first, {
        type: 'stats',
        at: 1001,
        servers: [{ service: 'api', url: 'http://127.0.0.1:1', status: 'down', since: 5 }],
        requests: [{ router: 'api', service: 'api', statusClass: '2xx', count: 1 }],
        openConnections: 2,
      });

      broken = true;
      const before = statsMessages().length;
      await waitFor(
        () => lines.some((l) => l['msg'] === 'cannot gather stats for the controller'),
        'the warning',
      );
      assert.equal(statsMessages().length, before, 'nothing is sent when the provider fails');
      assert.equal(agent.state, 'connected', 'a failing provider does not cost the connection');
      broken = false;
      await waitFor(() => statsMessages().length > before, 'stats again');

      await agent.stop();
      const count = statsMessages().length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(statsMessages().length, count, 'no stats after stop');
    } finally {
      await agent.stop();
      await rm(agentDir, { recursive: true, force: true });
    }
  });
});
