// A hand-driven node for distributor tests, and snapshots whose versions each change one router.
import {
  DELTA_CAPABILITY,
  decodeFrame,
  encodeMessage,
  hashBody,
  type Message,
  SNAPSHOT_SCHEMA,
  type Snapshot,
  type SnapshotBody,
} from '@berth/protocol';
import { joinAs, type TestDistributor } from './distributor-harness.js';

export const ROUTES = 200;

/** Version `v` of a config with ROUTES routers: each version changes one router's rule. */
export const snap = (version: number, epoch = 'e1', routes = ROUTES): Snapshot => {
  const routers: SnapshotBody['http']['routers'] = {};
  for (let i = 0; i < routes; i++)
    routers[`r${i}`] = {
      rule: `Host(\`r${i}.test\`) && PathPrefix(\`/${i === version % routes ? version : 0}\`)`,
      service: 's',
    };
  const body: SnapshotBody = {
    schema: SNAPSHOT_SCHEMA,
    entryPoints: { web: { address: ':8000' } },
    http: { routers, services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } } } },
  };
  // The distributor forwards signatures and never checks them; nodes do.
  const signature = { alg: 'ed25519' as const, publicKey: 'p', keyCertificate: 'k', value: `sig-${version}` };
  return { epoch, version, hash: hashBody(body), createdAt: new Date().toISOString(), body, signature };
};

/** A hand-driven node: records what it receives (and the raw frames), acks only when told. */
export class FakeNode {
  readonly received: Message[] = [];
  readonly frames: Buffer[] = [];
  ws!: Awaited<ReturnType<typeof joinAs>>;
  static async connect(
    t: TestDistributor,
    name: string,
    opts: { deltas?: boolean; applied?: Snapshot; creds?: FakeNode['ws']['creds'] } = {},
  ): Promise<FakeNode> {
    const n = new FakeNode();
    n.ws = await joinAs(t, name, opts.creds, {
      ...(opts.deltas === false ? {} : { capabilities: [DELTA_CAPABILITY] }),
      ...(opts.applied
        ? {
            appliedVersion: opts.applied.version,
            appliedEpoch: opts.applied.epoch,
            appliedHash: opts.applied.hash,
          }
        : {}),
    });
    n.ws.on('message', (data, isBinary) => {
      n.frames.push(data as Buffer);
      const d = decodeFrame(data as Buffer, isBinary);
      if (d.ok && d.message.type !== 'heartbeat') n.received.push(d.message);
    });
    return n;
  }
  /** `full 3` or `delta 2→3` per push received. */
  pushes(): string[] {
    return this.received.flatMap((m) =>
      m.type === 'snapshot'
        ? [`full ${m.snapshot.version}`]
        : m.type === 'delta'
          ? [`delta ${m.baseVersion}→${m.version}`]
          : [],
    );
  }
  ack(s: Snapshot): void {
    this.ws.send(
      encodeMessage({ type: 'ack', epoch: s.epoch, version: s.version, hash: s.hash, listeners: [] }),
    );
  }
  async close(): Promise<void> {
    const closed = new Promise((r) => this.ws.once('close', r));
    this.ws.close();
    await closed;
  }
}
