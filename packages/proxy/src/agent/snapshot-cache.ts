// The last applied snapshot on disk, so a node restarted while the controller is away serves what it served.
import { join } from 'node:path';
import { readTextIfExists, type Snapshot, verifySnapshot, writeFileAtomic } from '@berth/protocol';

export const CACHE_FILE = 'snapshot.json';

export type CacheLoad = { ok: true; snapshot: Snapshot | null } | { ok: false; error: string };

export async function loadCachedSnapshot(dataDir: string): Promise<CacheLoad> {
  const text = await readTextIfExists(join(dataDir, CACHE_FILE));
  if (text === null) return { ok: true, snapshot: null };
  try {
    const snapshot = JSON.parse(text) as Snapshot;
    if (typeof snapshot !== 'object' || snapshot === null || !snapshot.body || !verifySnapshot(snapshot)) {
      return { ok: false, error: 'cached snapshot does not match its hash' };
    }
    return { ok: true, snapshot };
  } catch (err) {
    return { ok: false, error: `cached snapshot is unreadable: ${(err as Error).message}` };
  }
}

export async function saveCachedSnapshot(dataDir: string, snapshot: Snapshot): Promise<void> {
  await writeFileAtomic(join(dataDir, CACHE_FILE), JSON.stringify(snapshot), 0o600);
}
