// Durable, versioned snapshot history: versions only move forward, and a restart resumes where it stopped.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, hashBody, type Snapshot, type SnapshotBody, writeFileAtomic } from '@berth/protocol';
import { ErrorCodes } from '../compiler/error-codes.js';
import { deepFreeze, freezeElements, sharedCollections, shareUnchanged } from './structural-sharing.js';

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

/**
 * One stored version. Only the current one is kept in memory: the nodes' deltas come from the
 * distributor's own history, so an older body here would only cost memory (a 10,000-route
 * version's collections alone are 0.75 MiB). Older ones are known by their header (version,
 * hash, date) and read back, verified and shared with the current body when `get` asks.
 */
interface Entry extends HistoryEntry {
  snapshot?: Snapshot;
  /** A read of this version's file under way, so concurrent `get`s share it. */
  loading?: Promise<Snapshot | undefined>;
}

export class SnapshotStore {
  /** Oldest first, at most `keep`, the last one is the current snapshot (always loaded). */
  private entries: Entry[];
  /** Highest version ever handed out (or found on disk), so a number is never reused. */
  private highest: number;
  private queue: Promise<unknown> = Promise.resolve();
  /** Problems found while opening, then while loading older versions on demand. */
  private readonly found: StoreWarning[];

  private constructor(
    private readonly dir: string,
    readonly epoch: string,
    entries: Entry[],
    highest: number,
    private readonly keep: number,
    private readonly now: () => Date,
    warnings: StoreWarning[],
    /** True when this open started a new epoch (first run, or the state was unusable). */
    readonly newEpoch: boolean,
    /** Canonical JSON of the (frozen) elements of stored bodies, so each is serialised once. */
    private readonly canonical: WeakMap<object, string>,
  ) {
    this.entries = entries;
    this.highest = highest;
    this.found = warnings;
  }

  /** Problems found while opening (and since, loading an older version); empty on a clean start. */
  get warnings(): readonly StoreWarning[] {
    return this.found;
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

    // Only the current version is read whole and verified at start: a restart at 10,000 routes
    // with 20 versions on disk would otherwise parse and hash 20 bodies before it is ready.
    // Older versions are known from their file's first bytes until someone asks for one.
    const canonical = new WeakMap<object, string>();
    const invalid = (path: string) =>
      warnings.push({
        code: ErrorCodes.STORE_SNAPSHOT_INVALID,
        message: `skipping invalid snapshot file ${path}`,
      });
    const newestFirst = files.filter((f) => f.version <= state.version).sort((a, b) => b.version - a.version);
    const entries: Entry[] = [];
    let current: Snapshot | undefined;
    for (const file of newestFirst) {
      // A file above state.version was written before a crash and never announced: skipped.
      const path = join(dir, file.name);
      if (file.version === state.version) {
        const read = await readSnapshot(path, file.version, state.epoch);
        if (read === null) continue; // an older epoch's leftover, pruned on the next publish
        const verified = read === 'invalid' ? undefined : verifiedBody(read, undefined, canonical);
        if (verified === undefined) invalid(path);
        else {
          current = verified;
          entries.push(entryOf(verified));
        }
        continue;
      }
      if (current === undefined || entries.length >= keep) continue; // no history without a current version
      const head = await readHeader(path);
      if (head === 'invalid' || head.version !== file.version) invalid(path);
      else if (head.epoch === state.epoch)
        entries.push({ version: head.version, hash: head.hash, createdAt: head.createdAt });
    }
    if (state.version > 0 && current === undefined) {
      warnings.push({
        code: ErrorCodes.STORE_SNAPSHOT_INVALID,
        message: `current snapshot v${state.version} could not be loaded from ${dir}; the next publish creates a new version`,
      });
    }
    const highest = Math.max(state.version, maxOnDisk);
    return new SnapshotStore(
      dir,
      state.epoch,
      current === undefined ? [] : entries.reverse(),
      highest,
      keep,
      now,
      warnings,
      false,
      canonical,
    );
  }

  get current(): Snapshot | null {
    return this.entries.at(-1)?.snapshot ?? null;
  }

  get version(): number {
    return this.current?.version ?? 0;
  }

  /**
   * The stored version `version`: the current one from memory, an older one read back from its
   * file and verified; undefined when it is not kept, or its file turns out damaged (then it
   * also leaves the history and a warning is added).
   */
  get(version: number): Promise<Snapshot | undefined> {
    const entry = this.entries.find((e) => e.version === version);
    if (entry === undefined) return Promise.resolve(undefined);
    if (entry.snapshot !== undefined) return Promise.resolve(entry.snapshot);
    entry.loading ??= this.load(entry);
    return entry.loading;
  }

  private async load(entry: Entry): Promise<Snapshot | undefined> {
    const path = join(this.dir, fileName(entry.version));
    const read = await readSnapshot(path, entry.version, this.epoch);
    // Shared with the current body: an older version costs what differs from it.
    const verified =
      typeof read === 'object' && read !== null && read.snap.hash === entry.hash
        ? verifiedBody(read, this.current?.body, this.canonical)
        : undefined;
    delete entry.loading;
    if (verified === undefined) {
      this.entries = this.entries.filter((e) => e.version !== entry.version);
      this.found.push({
        code: ErrorCodes.STORE_SNAPSHOT_INVALID,
        message: `skipping invalid snapshot file ${path}`,
      });
      return undefined;
    }
    return verified;
  }

  /** Newest first. */
  history(): HistoryEntry[] {
    return this.entries.map((e) => ({ version: e.version, hash: e.hash, createdAt: e.createdAt })).reverse();
  }

  /** Stores `body` as a new version unless it equals the current one. Calls are applied one at a time. */
  publish(body: SnapshotBody): Promise<{ snapshot: Snapshot; changed: boolean }> {
    const run = this.queue.then(() => this.publishNow(body));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async publishNow(body: SnapshotBody): Promise<{ snapshot: Snapshot; changed: boolean }> {
    const current = this.current;
    // Hashed first, as given: the usual compile changes nothing (a restart, a touched file), and
    // then there is nothing to compare element by element, freeze or copy. Elements are frozen
    // before the memo learns their text: a memo entry is only sound for an object that cannot change.
    freezeElements(body);
    const text = canonicalJson(body, this.canonical);
    forgetCollections(body, this.canonical);
    const hash = createHash('sha256').update(text).digest('hex');
    if (current !== null && current.hash === hash) return { snapshot: current, changed: false };
    // Frozen rather than copied whole (a copy of a 10,000-route body costs more than compiling
    // it), sharing the unchanged elements of the current version: history costs memory per
    // change. What changed is copied out of the provider's source text (see ShareOptions.detach).
    // Equal elements swapped for equal ones: `text` is the canonical JSON of `shared` too.
    const shared = shareUnchanged(body, current?.body, this.canonical, { detach: true });
    forgetCollections(shared, this.canonical);

    this.highest += 1;
    const snapshot: Snapshot = {
      epoch: this.epoch,
      version: this.highest,
      hash,
      createdAt: this.now().toISOString(),
      body: shared,
    };
    // The body as its canonical JSON, already made for the hash: `open` checks the hash over the
    // file's bytes instead of serialising the body again. The envelope's members come first:
    // `open` reads older versions' headers only.
    await writeFileAtomic(join(this.dir, fileName(snapshot.version)), snapshotFileText(snapshot, text));
    await writeFileAtomic(
      join(this.dir, STATE_FILE),
      stateJson({ format: STATE_FORMAT, epoch: this.epoch, version: snapshot.version }),
    );
    // The previous current version is superseded: known by its header from now on.
    this.entries = [...this.entries.map(headerOf), entryOf(snapshot)].slice(-this.keep);
    await this.prune();
    return { snapshot, changed: true };
  }

  /** Removes files outside the kept history, including leftovers of an older epoch or of a crash. */
  private async prune(): Promise<void> {
    const kept = new Set(this.entries.map((e) => fileName(e.version)));
    for (const file of await listSnapshotFiles(this.dir)) {
      if (!kept.has(file.name)) await rm(join(this.dir, file.name), { force: true });
    }
  }
}

function headerOf(entry: Entry): Entry {
  return { version: entry.version, hash: entry.hash, createdAt: entry.createdAt };
}

function entryOf(snapshot: Snapshot): Entry {
  return { version: snapshot.version, hash: snapshot.hash, createdAt: snapshot.createdAt, snapshot };
}

/**
 * `read.snap` with its body frozen and, when `newer` is given, sharing the elements equal to its
 * own; undefined when the body does not hash to `snap.hash` or is not shaped like a body (a
 * damaged file). A file whose bytes were already checked (`read.hashed`) is not hashed again,
 * and the current version (no `newer`) is not serialised at all: its elements' texts are made
 * when the next publish needs them, which a restart that changes nothing never does.
 */
function verifiedBody(
  read: ReadSnapshot,
  newer: SnapshotBody | undefined,
  canonical: WeakMap<object, string>,
): Snapshot | undefined {
  const { snap } = read;
  try {
    if (newer === undefined && read.hashed) return { ...snap, body: deepFreeze(snap.body) };
    // Bodies read back from files compare as written: equal JSON is equal canonical JSON, and
    // JSON.parse made fresh strings, so there is nothing to detach.
    const body = shareUnchanged(snap.body, newer, canonical, { same: sameJson });
    const ok = read.hashed || hashBody(body, canonical) === snap.hash;
    forgetCollections(body, canonical);
    return ok ? { ...snap, body } : undefined;
  } catch {
    return undefined;
  }
}

/** A snapshot file's text: the envelope, then the body as its canonical JSON `bodyText`. */
function snapshotFileText(snapshot: Snapshot, bodyText: string): string {
  const { epoch, version, hash, createdAt } = snapshot;
  return `{"epoch":${JSON.stringify(epoch)},"version":${version},"hash":${JSON.stringify(hash)},"createdAt":${JSON.stringify(createdAt)},"body":${bodyText}}\n`;
}

/** Drops the canonical text of `body`'s collections from `canonical` (see sharedCollections). */
function forgetCollections(body: SnapshotBody, canonical: WeakMap<object, string>): void {
  for (const collection of sharedCollections(body)) canonical.delete(collection);
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

interface ReadSnapshot {
  snap: Snapshot;
  /** True when the body's bytes in the file were checked against `snap.hash` (see snapshotFileText). */
  hashed: boolean;
}

/**
 * The parsed file; 'invalid' when it cannot be read or names another version; null for another
 * epoch's. A file as `publishNow` writes it has its body's hash checked over its bytes; any other
 * (an older layout) is parsed whole and left to the caller to hash.
 */
async function readSnapshot(
  path: string,
  version: number,
  epoch: string,
): Promise<ReadSnapshot | 'invalid' | null> {
  try {
    const text = await readFile(path, 'utf8');
    const head = HEADER.exec(text);
    let snap: Snapshot;
    let hashed = false;
    const end = text.endsWith('}\n') ? text.length - 2 : -1;
    if (
      head?.[1] !== undefined &&
      head[2] !== undefined &&
      head[3] !== undefined &&
      head[4] !== undefined &&
      end > 0
    ) {
      const bodyText = text.slice(head[0].length, end);
      hashed = createHash('sha256').update(bodyText).digest('hex') === head[3];
      snap = hashed
        ? {
            epoch: JSON.parse(head[1]) as string,
            version: Number(head[2]),
            hash: head[3],
            createdAt: JSON.parse(head[4]) as string,
            body: JSON.parse(bodyText) as SnapshotBody,
          }
        : (JSON.parse(text) as Snapshot);
    } else snap = JSON.parse(text) as Snapshot;
    if (snap.epoch !== epoch) return null; // an older epoch's leftover, pruned on the next publish
    if (snap.version === version && typeof snap.body === 'object' && snap.body !== null)
      return { snap, hashed };
  } catch {
    // Reported like any other invalid file.
  }
  return 'invalid';
}

/** The envelope's members as `publishNow` writes them, before the body. */
const HEADER =
  /^\{"epoch":("(?:[^"\\]|\\.)*"),"version":(\d+),"hash":"([0-9a-f]{64})","createdAt":("(?:[^"\\]|\\.)*"),"body":/;
/** Enough bytes for the header: a UUID, a number, a hash and a date. */
const HEADER_BYTES = 512;

/**
 * Epoch, version, hash and date of a snapshot file from its first bytes, without parsing the
 * body; a file in another layout (pretty-printed by an older version) is parsed whole.
 */
async function readHeader(
  path: string,
): Promise<{ epoch: string; version: number; hash: string; createdAt: string } | 'invalid'> {
  let head: string;
  try {
    const file = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(HEADER_BYTES);
      const { bytesRead } = await file.read(buffer, 0, HEADER_BYTES, 0);
      head = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await file.close();
    }
  } catch {
    return 'invalid';
  }
  const m = HEADER.exec(head);
  if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined && m[4] !== undefined)
    return { epoch: JSON.parse(m[1]), version: Number(m[2]), hash: m[3], createdAt: JSON.parse(m[4]) };
  try {
    const snap = JSON.parse(await readFile(path, 'utf8')) as Snapshot;
    const { epoch, version, hash, createdAt } = snap;
    if (
      typeof epoch === 'string' &&
      typeof version === 'number' &&
      typeof hash === 'string' &&
      typeof createdAt === 'string'
    )
      return { epoch, version, hash, createdAt };
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
