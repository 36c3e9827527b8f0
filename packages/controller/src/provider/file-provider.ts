// Watches a YAML file or directory and publishes one part per file, riding out editors' truncate-and-rewrite.
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type ConfigError, emptyDynamicConfig } from '@berth/config';
import { ErrorCodes } from '../compiler/error-codes.js';
import {
  type ChangeDebouncer,
  createChangeDebouncer,
  DEFAULT_DEBOUNCE_MAX_MS,
  DEFAULT_DEBOUNCE_QUIET_MS,
} from './change-debouncer.js';
import type { PartsListener, Provider, ProviderPart } from './provider-part.js';
import type { TemplateEnv } from './template/file-template.js';
import { FILE_PROVIDER, type ParsedFile } from './yaml-config-file.js';
import { IncrementalYamlFile } from './yaml-incremental.js';
import { scanYamlTree, type YamlTree } from './yaml-tree.js';

/** The subset of a pino logger the provider uses. */
export interface ProviderLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface FileProviderOptions {
  /** A YAML file, or a directory searched recursively for `*.yml` and `*.yaml`. */
  path: string;
  /** Quiet time after the last file event before re-reading (default 20 ms). */
  debounceMs?: number;
  /** A steady stream of events still re-reads this long after its first one (default 250 ms). */
  debounceMaxMs?: number;
  /** How long a file that had content may look empty, broken or gone before we believe it (default 500 ms). */
  settleMs?: number;
  /** Also re-read on this interval, for filesystems where change events are unreliable (default 0: off). */
  pollMs?: number;
  logger?: ProviderLogger;
  /** What templates' `{{ env "X" }}` reads (default: the controller's environment). */
  env?: TemplateEnv;
}

type Reading = { kind: 'gone' } | { kind: 'text'; text: string } | { kind: 'error'; message: string };

interface FileState {
  part: ProviderPart;
  /** Identity of the reading last evaluated, so an unchanged file is not parsed again. */
  lastReading: string | null;
  /** The file's last accepted reading had content that parsed; losing it is then suspect. */
  healthy: boolean;
  /** Healthy and without validation errors: new errors are then suspect too. */
  clean: boolean;
  /** Set while a suspect reading waits out `settleMs`. */
  settleTimer: NodeJS.Timeout | null;
  /** The wait is over: the next reading is believed whatever it is. */
  settled: boolean;
}

export class FileProvider implements Provider {
  readonly name = FILE_PROVIDER;
  private readonly root: string;
  private readonly settleMs: number;
  private readonly pollMs: number;
  private readonly logger: ProviderLogger | undefined;
  private readonly env: TemplateEnv | undefined;

  private readonly files = new Map<string, FileState>();
  /** Per file, the parser that keeps what did not change between readings (see yaml-incremental.ts). */
  private readonly parsers = new Map<string, IncrementalYamlFile>();
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly listeners = new Set<PartsListener>();
  private parts: ProviderPart[] = [];
  private lastEmitted: ProviderPart[] | null = null;

  private readonly debouncer: ChangeDebouncer;
  private pollTimer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private scanAgain = false;
  private closed = false;

  constructor(options: FileProviderOptions) {
    this.root = resolve(options.path);
    this.debouncer = createChangeDebouncer(
      {
        quietMs: options.debounceMs ?? DEFAULT_DEBOUNCE_QUIET_MS,
        maxWaitMs: options.debounceMaxMs ?? DEFAULT_DEBOUNCE_MAX_MS,
      },
      () => void this.requestScan(),
    );
    this.settleMs = options.settleMs ?? 500;
    this.pollMs = options.pollMs ?? 0;
    this.logger = options.logger;
    this.env = options.env;
  }

  async start(): Promise<void> {
    await this.requestScan();
    if (this.pollMs > 0 && !this.closed) {
      this.pollTimer = setInterval(() => this.schedule(), this.pollMs);
      this.pollTimer.unref();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.debouncer.cancel();
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.pollTimer = null;
    for (const state of this.files.values()) this.clearSettle(state);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    await this.scanning;
  }

  onChange(listener: PartsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  current(): ProviderPart[] {
    return this.parts;
  }

  /** Coalesces a burst of events into one scan (see change-debouncer.ts). */
  private schedule(): void {
    if (!this.closed) this.debouncer.trigger('file event');
  }

  /** Scans never overlap; a request during a scan runs one more right after it. */
  private requestScan(): Promise<void> {
    if (this.scanning !== null) {
      this.scanAgain = true;
      return this.scanning;
    }
    const run = async (): Promise<void> => {
      do {
        this.scanAgain = false;
        try {
          await this.scan();
        } catch (err) {
          this.logger?.error({ err, path: this.root }, 'file provider scan failed');
        }
      } while (this.scanAgain && !this.closed);
      this.scanning = null;
    };
    this.scanning = run();
    return this.scanning;
  }

  private async scan(): Promise<void> {
    if (this.closed) return;
    const tree = await scanYamlTree(this.root);
    if (this.closed) return;
    this.syncWatchers(tree.dirs);

    const present = new Set(tree.files);
    for (const path of [...new Set([...this.files.keys(), ...tree.files])].sort()) {
      const reading: Reading = present.has(path) ? await readText(path) : { kind: 'gone' };
      if (this.closed) return;
      this.apply(path, reading);
    }
    this.publish(tree);
  }

  /** Decides what a reading means for a file's part; the settle logic lives here. */
  private apply(path: string, reading: Reading): void {
    const state = this.files.get(path);
    const identity = readingIdentity(reading);
    if (state !== undefined && state.lastReading === identity && !state.settled) return;

    if (reading.kind === 'error') {
      // Transient I/O trouble must not take routes down: keep the part, add the error.
      const part = state?.part ?? emptyPart(path);
      const error = fileError(ErrorCodes.FILE_READ, path, `${path}: cannot read: ${reading.message}`);
      this.store(path, state, identity, { ...part, errors: [error] }, state?.healthy ?? false);
      return;
    }

    const parsed: ParsedFile | null =
      reading.kind === 'text' ? this.parserFor(path).parse(reading.text) : null;
    // A half-written file can parse yet miss fields; from a clean file, errors get the same grace as emptiness.
    const suspectOk = parsed?.kind === 'ok' && parsed.errors.length > 0 && state?.clean === true;
    if (parsed?.kind === 'ok' && (!suspectOk || state?.settled === true)) {
      const part: ProviderPart = {
        sourceKey: path,
        provider: FILE_PROVIDER,
        config: parsed.config,
        errors: parsed.errors,
        sources: parsed.sources,
      };
      this.store(path, state, identity, part, true);
      return;
    }

    // Empty, unparsable, gone or newly invalid. Editors truncate before writing and rename files away
    // before writing new ones, so from a file that had content this is only believed after settleMs.
    if (state?.healthy === true && !state.settled) {
      state.lastReading = identity;
      if (state.settleTimer === null) {
        state.settleTimer = setTimeout(() => {
          state.settleTimer = null;
          state.settled = true;
          void this.requestScan();
        }, this.settleMs);
      }
      return;
    }

    if (parsed?.kind === 'ok') return; // narrowing only: an ok reading was accepted or is settling above
    if (parsed === null) {
      if (state !== undefined) this.clearSettle(state);
      this.files.delete(path);
      this.parsers.delete(path);
      return;
    }
    if (parsed.kind === 'empty') {
      this.store(path, state, identity, emptyPart(path), false);
      return;
    }
    // Still unparsable: serve the last good configuration and say why it is stale.
    const last = state?.part ?? emptyPart(path);
    const kept: ProviderPart = { ...last, errors: [parsed.error] };
    this.store(path, state, identity, kept, state?.healthy ?? false);
    if (state?.healthy === true) {
      this.logger?.warn(
        { path, error: parsed.error.message },
        'keeping last good configuration of unparsable file',
      );
    }
  }

  private parserFor(path: string): IncrementalYamlFile {
    let parser = this.parsers.get(path);
    if (parser === undefined) {
      parser = new IncrementalYamlFile(path, this.env);
      this.parsers.set(path, parser);
    }
    return parser;
  }

  private store(
    path: string,
    state: FileState | undefined,
    identity: string,
    part: ProviderPart,
    healthy: boolean,
  ): void {
    if (state !== undefined) this.clearSettle(state);
    const clean = healthy && part.errors.length === 0;
    this.files.set(path, { part, lastReading: identity, healthy, clean, settleTimer: null, settled: false });
  }

  private clearSettle(state: FileState): void {
    if (state.settleTimer !== null) clearTimeout(state.settleTimer);
    state.settleTimer = null;
    state.settled = false;
  }

  private publish(tree: YamlTree): void {
    const parts = [...this.files.keys()].sort().map((path) => this.files.get(path)?.part ?? emptyPart(path));
    if (parts.length === 0 && tree.kind === 'missing') {
      parts.push({
        sourceKey: this.root,
        provider: FILE_PROVIDER,
        config: emptyDynamicConfig(),
        errors: [
          fileError(
            ErrorCodes.FILE_MISSING,
            this.root,
            `${this.root} does not exist; waiting for it to appear`,
          ),
        ],
      });
    }
    // Compared as data, not serialised: unchanged elements are the same objects from one reading
    // to the next (the incremental parse keeps them), so the comparison walks only what was read
    // anew. Key order counts, as it did when parts were compared as JSON: an edit that only
    // reorders keys costs one compile that publishes nothing new.
    if (this.lastEmitted !== null && sameParts(this.lastEmitted, parts)) return;
    this.lastEmitted = parts;
    this.parts = parts;
    for (const listener of this.listeners) {
      try {
        listener(parts);
      } catch (err) {
        this.logger?.error({ err }, 'file provider listener failed');
      }
    }
  }

  /** Watches exactly `dirs`, one non-recursive watcher each: recursive fs.watch is uneven across Node versions. */
  private syncWatchers(dirs: readonly string[]): void {
    const wanted = new Set(dirs);
    for (const [dir, watcher] of this.watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        // Any event rescans, even a neighbour's in a single file's directory: Kubernetes swaps a `..data`
        // symlink rather than touching the file, and a rescan of unchanged files costs a read each.
        const watcher = watch(dir, { persistent: true }, () => this.schedule());
        watcher.on('error', () => {
          // Typically the directory itself went away; the next scan decides what to watch instead.
          watcher.close();
          if (this.watchers.get(dir) === watcher) this.watchers.delete(dir);
          this.schedule();
        });
        this.watchers.set(dir, watcher);
      } catch (err) {
        this.logger?.warn({ err, dir }, 'cannot watch directory; changes there may be missed');
      }
    }
  }
}

async function readText(path: string): Promise<Reading> {
  try {
    return { kind: 'text', text: await readFile(path, 'utf8') };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'gone' };
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
}

function readingIdentity(reading: Reading): string {
  switch (reading.kind) {
    case 'gone':
      return 'gone';
    case 'error':
      return `error:${reading.message}`;
    case 'text':
      return `text:${reading.text}`;
  }
}

function sameParts(a: readonly ProviderPart[], b: readonly ProviderPart[]): boolean {
  return a.length === b.length && a.every((part, i) => sameData(part, b[i]));
}

/**
 * Plain data (what YAML and the validator produce) equal in value and key order: what their JSON
 * texts being equal meant, without writing them. Only ever errs towards "different".
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  for (let i = 0; i < keysA.length; i++) {
    const key = keysA[i] as string;
    if (key !== keysB[i]) return false;
    if (!sameData((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

function emptyPart(path: string): ProviderPart {
  return { sourceKey: path, provider: FILE_PROVIDER, config: emptyDynamicConfig(), errors: [] };
}

function fileError(code: string, path: string, message: string): ConfigError {
  return { code, path: '', message, source: { provider: FILE_PROVIDER, origin: path } };
}
