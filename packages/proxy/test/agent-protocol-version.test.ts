// Issue 10: a node told by the controller that it speaks another protocol version logs it at error level.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLOSE_PROTOCOL_VERSION, certificateFingerprint, decodeFrame } from '@berth/protocol';
import { WebSocketServer } from 'ws';
import { Agent } from '../src/agent/agent.js';
import { captureLog, waitFor } from './support/log-capture.js';
import {
  closeStandIn,
  controllerTlsOptions,
  listenOnLoopback,
  makeNodeIdentity,
  makePki,
} from './support/pki.js';

const SECRET = 'V'.repeat(43);
const NODE_ID = '0b7c5d0e-8a7f-4c3e-9a55-3f1d2e4b6a70';

describe('the agent and a controller of another protocol version', () => {
  let dir: string;
  let server: Server;
  let wss: WebSocketServer;
  let caPem: string;
  let port: number;
  let hellos = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-agent-version-'));
    const pki = await makePki(dir);
    caPem = pki.caPem;
    // As the controller: the node authenticates with its certificate.
    server = createServer(controllerTlsOptions(pki));
    wss = new WebSocketServer({ server, path: '/v1/connect' });
    // What the controller does (distributor.ts) with a hello of a version it does not speak.
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => {
        const d = decodeFrame(data as Buffer, isBinary);
        if (d.ok && d.message.type === 'hello') {
          hellos++;
          ws.close(CLOSE_PROTOCOL_VERSION, 'BERTH_PROTOCOL_VERSION: controller speaks 3');
        }
      });
    });
    port = await listenOnLoopback(server);
  });

  after(() => closeStandIn(server, wss, dir));

  it('logs BERTH_PROTOCOL_VERSION at error level with the controller reason, and retries', async () => {
    const { logger, lines } = captureLog();
    const agentDir = await mkdtemp(join(tmpdir(), 'berth-agent-node-'));
    await makeNodeIdentity(dir, agentDir, NODE_ID);
    const agent = new Agent({
      token: { url: `wss://127.0.0.1:${port}`, caFingerprint: certificateFingerprint(caPem), secret: SECRET },
      name: 'edge-1',
      dataDir: agentDir,
      applier: { apply: async () => ({ ok: true, listeners: [] }), listeners: () => [] },
      logger,
      reconnectInitialMs: 50,
      reconnectMaxMs: 100,
    });
    try {
      await agent.start();
      const refusals = () => lines.filter((l) => l['code'] === 'BERTH_PROTOCOL_VERSION');
      await waitFor(() => refusals().length >= 2 && hellos >= 2, 'two refusals');
      const line = refusals()[0]!;
      assert.equal(line['level'], 50);
      assert.equal(line['reason'], 'BERTH_PROTOCOL_VERSION: controller speaks 3');
      assert.match(String(line['msg']), /speaks another protocol version than this node \(2\)/);
    } finally {
      await agent.stop();
      await rm(agentDir, { recursive: true, force: true });
    }
  });
});
