// The nodes the controller's CA has certified, and the ones removed: `<data-dir>/nodes.json`, 0600.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { readTextIfExists, writeFileAtomic } from '@berth/protocol';
import type { IssuedNodeCertificate, NodeCertificateRequest } from '../pki/controller-pki.js';

/** One node identity: every certificate issued for a node id shares it. */
export interface NodeIdentity {
  id: string;
  /** Name the node gave when it enrolled (the hello may rename it later). */
  name: string;
  enrolledAt: string;
  /** Source address of the enrollment. */
  enrolledFrom: string;
  /** The newest certificate issued for this id. */
  serial: string;
  notAfter: string;
  /** Set once removed: every certificate of this id is refused from then on. */
  revokedAt?: string;
}

interface StoredIdentities {
  nodes: NodeIdentity[];
}

/** One spelling of a certificate serial: lower-case hex without leading zeros. */
export const normalSerial = (hex: string) => hex.toLowerCase().replace(/^0+(?=.)/, '');

export type IssueNodeCertificate = (request: NodeCertificateRequest) => Promise<IssuedNodeCertificate>;

/**
 * Identities by node id. Revoked ones are kept until their last certificate expires (after that
 * the TLS handshake refuses it anyway), so the file stays as small as the fleet.
 */
export class NodeIdentities {
  readonly #path: string;
  readonly #issue: IssueNodeCertificate;
  readonly #ttlMs: number;
  readonly #byId = new Map<string, NodeIdentity>();
  /** The write in progress, if any. */
  #writing: Promise<void> | null = null;
  /** The one write queued behind it: every change made meanwhile is saved by it, together. */
  #queued: Promise<void> | null = null;

  private constructor(path: string, issue: IssueNodeCertificate, ttlMs: number) {
    this.#path = path;
    this.#issue = issue;
    this.#ttlMs = ttlMs;
  }

  static async open(dataDir: string, issue: IssueNodeCertificate, ttlMs: number): Promise<NodeIdentities> {
    const registry = new NodeIdentities(join(dataDir, 'nodes.json'), issue, ttlMs);
    const text = await readTextIfExists(registry.#path);
    if (text) {
      const stored = JSON.parse(text) as StoredIdentities;
      for (const n of stored.nodes ?? []) registry.#byId.set(n.id, n);
    }
    registry.#prune();
    return registry;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  get(id: string): NodeIdentity | undefined {
    return this.#byId.get(id);
  }

  list(): NodeIdentity[] {
    return [...this.#byId.values()].map((n) => ({ ...n }));
  }

  isRevoked(id: string): boolean {
    return this.#byId.get(id)?.revokedAt !== undefined;
  }

  /** A new node: a fresh id (never one the caller chose, so no node can claim another's) and its first certificate. */
  async enroll(
    name: string,
    csrPem: string,
    from: string,
  ): Promise<{ identity: NodeIdentity; certPem: string }> {
    const id = randomUUID();
    const issued = await this.#issue({ csrPem, nodeId: id, name, ttlMs: this.#ttlMs });
    const identity: NodeIdentity = {
      id,
      name,
      enrolledAt: new Date().toISOString(),
      enrolledFrom: from,
      serial: normalSerial(issued.serial),
      notAfter: issued.notAfter.toISOString(),
    };
    this.#byId.set(id, identity);
    await this.#save();
    return { identity: { ...identity }, certPem: issued.certPem };
  }

  /** A new certificate for a connected node's new key. Throws for a revoked id. */
  async renew(
    id: string,
    name: string,
    csrPem: string,
  ): Promise<{ identity: NodeIdentity; certPem: string }> {
    if (this.isRevoked(id)) throw new Error(`node ${id} was removed`);
    const issued = await this.#issue({ csrPem, nodeId: id, name, ttlMs: this.#ttlMs });
    const known = this.#byId.get(id);
    const identity: NodeIdentity = {
      id,
      name,
      enrolledAt: known?.enrolledAt ?? new Date().toISOString(),
      enrolledFrom: known?.enrolledFrom ?? '',
      serial: normalSerial(issued.serial),
      notAfter: issued.notAfter.toISOString(),
    };
    this.#byId.set(id, identity);
    await this.#save();
    return { identity: { ...identity }, certPem: issued.certPem };
  }

  /**
   * Refuses every certificate of `id` from now on. A node the registry never saw (its certificate
   * from a restored data dir) is recorded so it stays refused. Returns the identity, or null when
   * `id` is not a node id at all.
   */
  async revoke(id: string, name: string, notAfter: string | null): Promise<NodeIdentity> {
    const known = this.#byId.get(id);
    const revokedAt = known?.revokedAt ?? new Date().toISOString();
    const identity: NodeIdentity = known
      ? { ...known, revokedAt }
      : {
          id,
          name,
          enrolledAt: '',
          enrolledFrom: '',
          serial: '',
          notAfter: notAfter ?? new Date(Date.now() + this.#ttlMs).toISOString(),
          revokedAt,
        };
    this.#byId.set(id, identity);
    await this.#save();
    return { ...identity };
  }

  /** Drops identities whose last certificate expired more than a day ago. */
  #prune(): void {
    const cutoff = Date.now() - 24 * 3600_000;
    for (const [id, n] of this.#byId) if (Date.parse(n.notAfter) < cutoff) this.#byId.delete(id);
  }

  /**
   * Saves the registry; resolves once a write that includes every change made so far is on disk.
   * Writes never overlap, and changes made while one is in progress share the next one: a burst of
   * enrollments costs two writes, not one each (each write is the whole file, fsynced).
   */
  #save(): Promise<void> {
    if (this.#queued) return this.#queued;
    const write = (): Promise<void> => {
      this.#queued = null;
      this.#prune();
      const text = `${JSON.stringify({ nodes: [...this.#byId.values()] } satisfies StoredIdentities, null, 2)}\n`;
      const written = writeFileAtomic(this.#path, text, 0o600).finally(() => {
        if (this.#writing === written) this.#writing = null;
      });
      this.#writing = written;
      return written;
    };
    if (!this.#writing) return write();
    // Starts when the current write ends, whether it failed or not, and captures the state then.
    this.#queued = this.#writing.then(write, write);
    return this.#queued;
  }
}
