// Durable, versioned snapshot history: versions only move forward, and a restart resumes where it stopped.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hashBody, type Snapshot, type SnapshotBody, writeFileAtomic } from '@berth/protocol';
import { ErrorCodes } from '../compiler/error-codes.js';
import { shareUnchanged } from './structural-sharing.js';

export const DEFAULT_HISTORY = 20;
const STATE_FORMAT = 1;
const STATE_FILE = 'state.json';
const SNAPSHOT_FILE = /^(\d+)\.json$/;

export interface HistoryEntry {
  version: number;
  hash: string;
  createdAt: string;
}

/** Something `open` recovered from; the caller should log it. */
export interface StoreWarning {
  code: string;
  message: string;
}

export interface SnapshotStoreOptions {
  /** How many snapshots to keep on disk and in memory (default 20). */
  keep?: number;
  now?: () => Date;
}

interface StateFile {
  format: number;
  epoch: string;
  /** Latest published version, whose file is the current snapshot. */
  version: number;
}

export class SnapshotStore {
  /** Oldest first, at most `keep`, the last one is the current snapshot. */
  private snapshots: Snapshot[];
  /** Highest version ever handed out (or found on disk), so a number is never reused. */
  private highest: number;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    readonly epoch: string,
    snapshots: Snapshot[],
    highest: number,
    private readonly keep: number,
    private readonly now: () => Date,
    /** Problems found while opening; empty on a clean start. */
    readonly warnings: readonly StoreWarning[],
    /** True when this open started a new epoch (first run, or the state was unusable). */
    readonly newEpoch: boolean,
    /** Canonical JSON of the (frozen) elements of stored bodies, so each is serialised once. */
    private readonly canonical: WeakMap<object, string>,
  ) {
    this.snapshots = snapshots;
    this.highest = highest;
  }

  static async open(dataDir: string, options: SnapshotStoreOptions = {}): Promise<SnapshotStore> {
    const keep = Math.max(1, options.keep ?? DEFAULT_HISTORY);
    const now = options.now ?? (() => new Date());
    const dir = join(dataDir, 'snapshots');
    await mkdir(dir, { recursive: true, mode: 0o700 });

    const warnings: StoreWarning[] = [];
    const files = await listSnapshotFiles(dir);
    const maxOnDisk = files.reduce((max, f) => Math.max(max, f.version), 0);
    const state = await readState(dir, warnings, files.length > 0);

    if (state === null) {
      const epoch = randomUUID();
      // Keep counting from what is on disk: a node holding an old version must never see the number again.
      const highest = maxOnDisk;
      await writeFileAtomic(
        join(dir, STATE_FILE),
        stateJson({ format: STATE_FORMAT, epoch, version: highest }),
      );
      return new SnapshotStore(dir, epoch, [], highest, keep, now, warnings, true, new WeakMap());
    }

    const read: { path: string; snap: Snapshot | 'invalid' | null }[] = [];
    for (const file of files) {
      if (file.version > state.version) continue; // written before a crash, never announced
      const path = join(dir, file.name);
      read.push({ path, snap: await readSnapshot(path, file.version, state.epoch) });
    }
    // Newest first, each body sharing the elements it has in common with the next newer one: the
    // history costs one body in memory, and verifying it serialises only what differs.
    const canonical = new WeakMap<object, string>();
    const verified = new Set<Snapshot>();
    let newer: SnapshotBody | undefined;
    const loaded = read.flatMap((r) => (typeof r.snap === 'object' && r.snap !== null ? [r.snap] : []));
    for (const snap of loaded.sort((a, b) => b.version - a.version)) {
      let body: SnapshotBody;
      try {
        body = shareUnchanged(snap.body, newer, canonical, sameJson);
      } catch {
        continue; // not shaped like a body (a damaged file): reported below
      }
      const ok = hashBody(body, canonical) === snap.hash;
      if (!ok) continue;
      snap.body = body;
      newer = body;
      verified.add(snap);
    }
    const snapshots: Snapshot[] = [];
    for (const { path, snap } of read) {
      if (snap === null) continue; // an older epoch's leftover, pruned on the next publish
      if (snap !== 'invalid' && verified.has(snap)) snapshots.push(snap);
      else
        warnings.push({
          code: ErrorCodes.STORE_SNAPSHOT_INVALID,
          message: `skipping invalid snapshot file ${path}`,
        });
    }
    snapshots.sort((a, b) => a.version - b.version);
    const last = snapshots.at(-1);
    if (state.version > 0 && last?.version !== state.version) {
      warnings.push({
        code: ErrorCodes.STORE_SNAPSHOT_INVALID,
        message: `current snapshot v${state.version} could not be loaded from ${dir}; the next publish creates a new version`,
      });
    }
    const current = last?.version === state.version ? snapshots : [];
    const highest = Math.max(state.version, maxOnDisk);
    return new SnapshotStore(
      dir,
      state.epoch,
      current.slice(-keep),
      highest,
      keep,
      now,
      warnings,
      false,
      canonical,
    );
  }

  get current(): Snapshot | null {
    return this.snapshots.at(-1) ?? null;
  }

  get version(): number {
    return this.current?.version ?? 0;
  }

  get(version: number): Snapshot | undefined {
    return this.snapshots.find((s) => s.version === version);
  }

  /** Newest first. */
  history(): HistoryEntry[] {
    return this.snapshots
      .map((s) => ({ version: s.version, hash: s.hash, createdAt: s.createdAt }))
      .reverse();
  }

  /** Stores `body` as a new version unless it equals the current one. Calls are applied one at a time. */
  publish(body: SnapshotBody): Promise<{ snapshot: Snapshot; changed: boolean }> {
    const run = this.queue.then(() => this.publishNow(body));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async publishNow(body: SnapshotBody): Promise<{ snapshot: Snapshot; changed: boolean }> {
    const current = this.current;
    // Frozen rather than copied (a copy of a 10,000-route body costs more than compiling it), and
    // sharing the unchanged elements of the current version: history costs memory per change.
    const shared = shareUnchanged(body, current?.body, this.canonical);
    const hash = hashBody(shared, this.canonical);
    if (current !== null && current.hash === hash) return { snapshot: current, changed: false };

    this.highest += 1;
    const snapshot: Snapshot = {
      epoch: this.epoch,
      version: this.highest,
      hash,
      createdAt: this.now().toISOString(),
      body: shared,
    };
    // Compact: only the controller reads these files back, and a pretty 10,000-route body is twice the bytes.
    await writeFileAtomic(join(this.dir, fileName(snapshot.version)), `${JSON.stringify(snapshot)}\n`);
    await writeFileAtomic(
      join(this.dir, STATE_FILE),
      stateJson({ format: STATE_FORMAT, epoch: this.epoch, version: snapshot.version }),
    );
    this.snapshots = [...this.snapshots, snapshot].slice(-this.keep);
    await this.prune();
    return { snapshot, changed: true };
  }

  /** Removes files outside the kept history, including leftovers of an older epoch or of a crash. */
  private async prune(): Promise<void> {
    const kept = new Set(this.snapshots.map((s) => fileName(s.version)));
    for (const file of await listSnapshotFiles(this.dir)) {
      if (!kept.has(file.name)) await rm(join(this.dir, file.name), { force: true });
    }
  }
}

function fileName(version: number): string {
  return `${String(version).padStart(12, '0')}.json`;
}

function stateJson(state: StateFile): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

async function listSnapshotFiles(dir: string): Promise<{ name: string; version: number }[]> {
  const out: { name: string; version: number }[] = [];
  for (const name of await readdir(dir)) {
    const m = SNAPSHOT_FILE.exec(name);
    if (m?.[1] !== undefined) out.push({ name, version: Number.parseInt(m[1], 10) });
  }
  return out;
}

/** null means "start a new epoch"; the reason, if it is not a first start, goes into `warnings`. */
async function readState(
  dir: string,
  warnings: StoreWarning[],
  hasSnapshots: boolean,
): Promise<StateFile | null> {
  const path = join(dir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT')) {
      if (hasSnapshots) {
        warnings.push({
          code: ErrorCodes.STORE_CORRUPT,
          message: `${path} is missing but snapshots exist; starting a new epoch`,
        });
      }
      return null;
    }
    warnings.push({
      code: ErrorCodes.STORE_CORRUPT,
      message: `cannot read ${path}: ${errorMessage(err)}; starting a new epoch`,
    });
    return null;
  }
  const state = parseState(text);
  if (state !== null) return state;
  // Keep the bad file for a post-mortem instead of overwriting the evidence.
  const aside = `${path}.corrupt-${Date.now()}`;
  await rename(path, aside).catch(() => undefined);
  warnings.push({
    code: ErrorCodes.STORE_CORRUPT,
    message: `${path} is corrupt (moved to ${aside}); starting a new epoch`,
  });
  return null;
}

function parseState(text: string): StateFile | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const { format, epoch, version } = raw as Record<string, unknown>;
  if (format !== STATE_FORMAT) return null;
  if (typeof epoch !== 'string' || epoch === '') return null;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return null;
  return { format, epoch, version };
}

/** The parsed file; 'invalid' when it cannot be read or names another version; null for another epoch's. Hashes are checked by the caller. */
async function readSnapshot(
  path: string,
  version: number,
  epoch: string,
): Promise<Snapshot | 'invalid' | null> {
  try {
    const snap = JSON.parse(await readFile(path, 'utf8')) as Snapshot;
    if (snap.epoch !== epoch) return null; // an older epoch's leftover, pruned on the next publish
    if (snap.version === version && typeof snap.body === 'object' && snap.body !== null) return snap;
  } catch {
    // Reported like any other invalid file.
  }
  return 'invalid';
}

/** Bodies read back from files compare as written: equal JSON is equal canonical JSON. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
