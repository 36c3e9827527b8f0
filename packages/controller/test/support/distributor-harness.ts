// A real Distributor on loopback with its own PKI, and hand-driven node connections to it, for tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createNodeKeyAndCsr,
  encodeMessage,
  enrollNode,
  type HelloMessage,
  PROTOCOL_VERSION,
} from '@berth/protocol';
import pino from 'pino';
import WebSocket from 'ws';
import { Distributor, type DistributorOptions } from '../../src/distributor/distributor.js';
import { JoinSecrets } from '../../src/distributor/join-secrets.js';
import { NodeIdentities } from '../../src/distributor/node-identities.js';
import { ensureControllerPki } from '../../src/pki/controller-pki.js';

export interface TestDistributor {
  dist: Distributor;
  /** `wss://127.0.0.1:<port>` */
  url: string;
  ca: string;
  secret: string;
  secrets: JoinSecrets;
  identities: NodeIdentities;
  close(): Promise<void>;
}

/** What a node holds after enrolling: its id, key and certificate. */
export interface TestNodeCredentials {
  nodeId: string;
  keyPem: string;
  certPem: string;
}

export async function startTestDistributor(
  heartbeatMs: number,
  more: Partial<DistributorOptions> = {},
): Promise<TestDistributor> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-dist-'));
  const pki = await ensureControllerPki(dir, []);
  const secrets = await JoinSecrets.open(dir);
  const secret = secrets.current;
  const identities = await NodeIdentities.open(dir, pki.issueNodeCertificate, 3600_000);
  const dist = new Distributor({
    tls: { certPem: pki.certPem + pki.caCertPem, keyPem: pki.keyPem },
    caCertPem: pki.caCertPem,
    secrets,
    identities,
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
    secrets,
    identities,
    async close() {
      await dist.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Enrolls as node `name` with `secret`: the node id and certificate the controller issues. */
export async function enrollAs(
  t: TestDistributor,
  name: string,
  secret = t.secret,
): Promise<TestNodeCredentials> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr(name);
  const { nodeId, certificate } = await enrollNode({ url: t.url, ca: t.ca, secret, name, csrPem });
  return { nodeId, keyPem, certPem: certificate };
}

/** Opens the node channel with a node certificate (no hello yet). */
export function connectAs(t: TestDistributor, creds: TestNodeCredentials): WebSocket {
  return new WebSocket(`${t.url}/v1/connect`, { ca: t.ca, cert: creds.certPem, key: creds.keyPem });
}

/**
 * Enrolls (or reuses `creds`), connects and says hello as node `name`; rejects with `status N`
 * when refused. The socket carries the credentials as `ws.creds`.
 */
export async function joinAs(
  t: TestDistributor,
  name: string,
  creds?: TestNodeCredentials,
  hello: Partial<Omit<HelloMessage, 'type' | 'nodeId' | 'name'>> = {},
): Promise<WebSocket & { creds: TestNodeCredentials }> {
  const c = creds ?? (await enrollAs(t, name));
  const ws = Object.assign(connectAs(t, c), { creds: c });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`status ${res.statusCode}`)));
  });
  ws.send(
    encodeMessage({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      nodeId: c.nodeId,
      name,
      appliedVersion: 0,
      appliedEpoch: null,
      appliedHash: null,
      listeners: [],
      ...hello,
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
