// A real Distributor on loopback with its own PKI, and hand-driven node connections to it, for tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage } from '@berth/protocol';
import pino from 'pino';
import WebSocket from 'ws';
import { Distributor, type DistributorOptions } from '../../src/distributor/distributor.js';
import { ensureControllerPki } from '../../src/pki/controller-pki.js';

export interface TestDistributor {
  dist: Distributor;
  /** `wss://127.0.0.1:<port>` */
  url: string;
  ca: string;
  secret: string;
  close(): Promise<void>;
}

export async function startTestDistributor(
  heartbeatMs: number,
  more: Partial<DistributorOptions> = {},
): Promise<TestDistributor> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-dist-'));
  const pki = await ensureControllerPki(dir, []);
  const secret = 'S'.repeat(43);
  const dist = new Distributor({
    tls: { certPem: pki.certPem + pki.caCertPem, keyPem: pki.keyPem },
    secret,
    logger: pino({ level: 'silent' }),
    heartbeatMs,
    ...more,
  });
  const { port } = await dist.listen('127.0.0.1', 0);
  return {
    dist,
    url: `wss://127.0.0.1:${port}`,
    ca: pki.caCertPem,
    secret,
    async close() {
      await dist.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Connects as node `name` (id `id-<name>`) with `secret` and says hello; rejects with `status N` when refused. */
export async function joinAs(t: TestDistributor, name: string, secret = t.secret): Promise<WebSocket> {
  const ws = new WebSocket(`${t.url}/v1/connect`, {
    ca: t.ca,
    headers: { authorization: `Bearer ${secret}` },
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`status ${res.statusCode}`)));
  });
  ws.send(
    encodeMessage({
      type: 'hello',
      protocol: 1,
      nodeId: `id-${name}`,
      name,
      appliedVersion: 0,
      appliedEpoch: null,
      appliedHash: null,
      listeners: [],
    }),
  );
  return ws;
}

/** Polls `cond` every 10 ms; throws naming `what` after `ms`. */
export async function until(cond: () => boolean, what = 'a condition', ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
