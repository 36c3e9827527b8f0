// A node's stable id, kept in its data dir so the controller recognises it across restarts.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { readTextIfExists, writeFileAtomic } from '@berth/protocol';

export async function loadNodeId(dataDir: string): Promise<string> {
  const path = join(dataDir, 'node-id');
  const existing = (await readTextIfExists(path))?.trim();
  if (existing && /^[A-Za-z0-9-]{8,64}$/.test(existing)) return existing;
  const id = randomUUID();
  await writeFileAtomic(path, `${id}\n`, 0o644);
  return id;
}
