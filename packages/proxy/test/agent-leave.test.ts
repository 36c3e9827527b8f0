// A node stopped on purpose says `leave` to the controller before it goes; a node merely stopped says nothing.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { certificateFingerprint, decodeFrame, type Message } from '@berth/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import { Agent } from '../src/agent/agent.js';
import { captureLog, waitFor } from './support/log-capture.js';
import {
  closeStandIn,
  controllerTlsOptions,
  listenOnLoopback,
  makeNodeIdentity,
  makePki,
} from './support/pki.js';

const SECRET = 'L'.repeat(43);
const NODE_ID = '0b7c5d0e-8a7f-4c3e-9a55-3f1d2e4b6a70';

/** How the stand-in controller answers a leave: as the distributor does, as one that predates it, or not at all. */
type Mode = 'current' | 'older' | 'silent';

describe('the agent leaving the controller', () => {
  let dir: string;
  let server: Server;
  let wss: WebSocketServer;
  let caPem: string;
  let port: number;
  let mode: Mode = 'current';
  let received: Message[] = [];
  const closes: number[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-agent-leave-'));
    const pki = await makePki(dir);
    caPem = pki.caPem;
    server = createServer(controllerTlsOptions(pki));
    wss = new WebSocketServer({ server, path: '/v1/connect' });
    wss.on('connection', (ws: WebSocket) => {
      ws.on('close', (code) => closes.push(code));
      ws.on('message', (data, isBinary) => {
        const d = decodeFrame(data as Buffer, isBinary);
        if (d.ok) received.push(d.message);
        if (!d.ok || d.message.type !== 'leave') return;
        if (mode === 'current') ws.close(1000, 'left');
        // decodeNodeFrame of an older controller: an unknown type is a bad frame.
        else if (mode === 'older') ws.close(1008, 'BERTH_PROTOCOL_BAD_FRAME');
        // Never answers the close either.
        else (ws as unknown as { _socket: { pause(): void } })._socket.pause();
      });
    });
    port = await listenOnLoopback(server);
  });

  after(() => closeStandIn(server, wss, dir));

  async function connectedAgent(leaveTimeoutMs = 1000) {
    received = [];
    const log = captureLog();
    const agentDir = await mkdtemp(join(tmpdir(), 'berth-agent-node-'));
    await makeNodeIdentity(dir, agentDir, NODE_ID);
    const agent = new Agent({
      token: { url: `wss://127.0.0.1:${port}`, caFingerprint: certificateFingerprint(caPem), secret: SECRET },
      name: 'edge-1',
      dataDir: agentDir,
      applier: { apply: async () => ({ ok: true, listeners: [] }), listeners: () => [] },
      logger: log.logger,
      leaveTimeoutMs,
    });
    await agent.start();
    await waitFor(() => received.some((m) => m.type === 'hello'), 'the hello');
    return {
      agent,
      lines: log.lines,
      async cleanup() {
        await agent.stop();
        await rm(agentDir, { recursive: true, force: true });
      },
    };
  }

  it('sends leave last and returns once the controller closed the connection', async () => {
    mode = 'current';
    const { agent, lines, cleanup } = await connectedAgent();
    try {
      const closed = closes.length;
      const started = Date.now();
      await agent.stop({ leave: true });
      assert.ok(Date.now() - started < 900, 'no wait for the timeout');
      assert.equal(received.at(-1)?.type, 'leave');
      await waitFor(() => closes.length > closed, 'the close on the controller side');
      assert.equal(closes.at(-1), 1000);
      assert.ok(lines.some((l) => l['msg'] === 'left the controller'));
      assert.equal(agent.state, 'stopped');
    } finally {
      await cleanup();
    }
  });

  it('says nothing when stopped without leave: the controller keeps it listed as disconnected', async () => {
    mode = 'current';
    const { agent, cleanup } = await connectedAgent();
    try {
      await agent.stop();
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(!received.some((m) => m.type === 'leave'));
    } finally {
      await cleanup();
    }
  });

  it('stops promptly when the controller predates leave and closes over it', async () => {
    mode = 'older';
    const { agent, lines, cleanup } = await connectedAgent();
    try {
      const started = Date.now();
      await agent.stop({ leave: true });
      assert.ok(Date.now() - started < 900, 'no wait for the timeout');
      assert.ok(!lines.some((l) => l['level'] === 50), 'nothing logged as an error');
    } finally {
      await cleanup();
    }
  });

  it('stops after leaveTimeoutMs when the controller never answers', async () => {
    mode = 'silent';
    const { agent, lines, cleanup } = await connectedAgent(300);
    try {
      const started = Date.now();
      await agent.stop({ leave: true });
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
      assert.ok(lines.some((l) => /did not confirm the leave/.test(String(l['msg']))));
    } finally {
      await cleanup();
    }
  });

  it('sends nothing when not connected', async () => {
    mode = 'current';
    const { agent, cleanup } = await connectedAgent();
    try {
      await agent.stop();
      const count = received.length;
      await agent.stop({ leave: true });
      assert.equal(received.length, count);
    } finally {
      await cleanup();
    }
  });
});
