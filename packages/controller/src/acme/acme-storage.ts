// The resolvers' storage file in the controller's data dir: ACME accounts (one per CA directory)
// and certificates with their keys, as one JSON document written atomically with mode 0600.
// Several resolvers may name the same file (Traefik's usual `acme.json`): each update reads the
// file afresh under a per-path lock and changes only its own resolver's section.
import { readTextIfExists, writeFileAtomic } from '@berth/protocol';
import type { AcmeKeyType } from './resolver-settings.js';

export const STORAGE_FORMAT = 1;

export interface StoredAccount {
  /** PKCS#8 PEM of the account key (EC P-256). */
  keyPem: string;
  /** The account URL the CA gave at registration (the JWS `kid`). */
  url: string;
  email: string | null;
  createdAt: string;
}

export interface StoredCertificate {
  /** The names in the certificate, in the order asked for (the first is the main domain). */
  domains: string[];
  keyType: AcmeKeyType;
  /** The CA directory that issued it. */
  caServer: string;
  /** Leaf then intermediates, PEM. */
  certPem: string;
  /** PKCS#8 PEM of the certificate's key. */
  keyPem: string;
  /** Validity, ms since the epoch, read from the leaf. */
  notBefore: number;
  notAfter: number;
  issuedAt: string;
}

export interface ResolverSection {
  /** By CA directory URL: a new caServer registers a new account, the old one stays for a switch back. */
  accounts: Record<string, StoredAccount>;
  certificates: StoredCertificate[];
  /** Account keys made and not registered yet (a crash between the two reuses the key). */
  pendingAccountKeys?: Record<string, string>;
}

interface StorageDocument {
  berthAcme: number;
  resolvers: Record<string, ResolverSection>;
}

/** The file exists but is not Berth's ACME storage (or is unreadable JSON): never overwritten. */
export class StorageUnreadableError extends Error {
  override readonly name = 'StorageUnreadableError';
}

const locks = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call for the same path has settled. */
function serialised<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(path) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  const settled = next.catch(() => {});
  locks.set(path, settled);
  void settled.then(() => {
    if (locks.get(path) === settled) locks.delete(path);
  });
  return next;
}

function emptySection(): ResolverSection {
  return { accounts: {}, certificates: [] };
}

async function readDocument(path: string): Promise<StorageDocument> {
  const text = await readTextIfExists(path);
  if (text === null || text.trim() === '') return { berthAcme: STORAGE_FORMAT, resolvers: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StorageUnreadableError(`${path} is not JSON (${(err as Error).message}); left untouched`);
  }
  const doc = parsed as Partial<StorageDocument> | null;
  if (
    doc === null ||
    typeof doc !== 'object' ||
    doc.berthAcme !== STORAGE_FORMAT ||
    typeof doc.resolvers !== 'object'
  )
    throw new StorageUnreadableError(
      `${path} is not Berth's ACME storage (a Traefik acme.json?); left untouched: name another storage file`,
    );
  return doc as StorageDocument;
}

export class AcmeStorage {
  readonly path: string;
  readonly #resolver: string;

  constructor(path: string, resolver: string) {
    this.path = path;
    this.#resolver = resolver;
  }

  /** This resolver's section (empty when the file or section does not exist yet). */
  async read(): Promise<ResolverSection> {
    const doc = await serialised(this.path, () => readDocument(this.path));
    const section = doc.resolvers[this.#resolver];
    return section
      ? { ...section, accounts: { ...section.accounts }, certificates: [...section.certificates] }
      : emptySection();
  }

  /** Applies `change` to this resolver's section and writes the whole file atomically, 0600. */
  async update(change: (section: ResolverSection) => ResolverSection): Promise<ResolverSection> {
    return serialised(this.path, async () => {
      const doc = await readDocument(this.path);
      const next = change(doc.resolvers[this.#resolver] ?? emptySection());
      doc.resolvers[this.#resolver] = next;
      await writeFileAtomic(this.path, `${JSON.stringify(doc, null, 2)}\n`, 0o600);
      return next;
    });
  }
}
