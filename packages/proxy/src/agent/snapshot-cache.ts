// The last applied snapshot on disk, so a node restarted while the controller is away serves what it served.
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ProtocolErrorCodes,
  readTextIfExists,
  type Snapshot,
  verifySnapshot,
  verifySnapshotSignature,
  writeFileAtomic,
} from '@berth/protocol';
import { CACHE_UNREADABLE } from '../errors.js';

export const CACHE_FILE = 'snapshot.json';
/** A cache that failed its checks is moved here, for whoever investigates, and never loaded again. */
export const REJECTED_CACHE_FILE = 'snapshot.json.rejected';

export type CacheLoad =
  | { ok: true; snapshot: Snapshot | null }
  | { ok: false; code: string; error: string; keptAs: string | null };

/**
 * Loads the cache if its hash matches and the controller signed it with a key `caPem` certified.
 * `caPem` is null when the data dir holds no CA matching the join token: nothing can be trusted then.
 */
export async function loadCachedSnapshot(dataDir: string, caPem: string | null): Promise<CacheLoad> {
  const path = join(dataDir, CACHE_FILE);
  const text = await readTextIfExists(path);
  if (text === null) return { ok: true, snapshot: null };
  const refuse = async (code: string, error: string): Promise<CacheLoad> => {
    const keptAs = join(dataDir, REJECTED_CACHE_FILE);
    try {
      await rename(path, keptAs);
      return { ok: false, code, error, keptAs };
    } catch {
      return { ok: false, code, error, keptAs: null };
    }
  };
  let snapshot: Snapshot;
  try {
    snapshot = JSON.parse(text) as Snapshot;
  } catch (err) {
    return refuse(CACHE_UNREADABLE, `cached snapshot is unreadable: ${(err as Error).message}`);
  }
  if (typeof snapshot !== 'object' || snapshot === null || !snapshot.body || !verifySnapshot(snapshot)) {
    return refuse(ProtocolErrorCodes.HashMismatch, 'cached snapshot does not match its hash');
  }
  if (caPem === null) {
    return refuse(
      ProtocolErrorCodes.SnapshotSignature,
      "cached snapshot cannot be verified: the data dir holds no controller CA matching the join token's pin",
    );
  }
  const signed = verifySnapshotSignature(snapshot, caPem);
  if (!signed.ok)
    return refuse(ProtocolErrorCodes.SnapshotSignature, `cached snapshot refused: ${signed.error}`);
  return { ok: true, snapshot };
}

export async function saveCachedSnapshot(dataDir: string, snapshot: Snapshot): Promise<void> {
  await writeFileAtomic(join(dataDir, CACHE_FILE), JSON.stringify(snapshot), 0o600);
}
