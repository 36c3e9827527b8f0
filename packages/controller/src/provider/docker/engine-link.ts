// The connection half the Docker and Swarm providers share: subscribe, resync, publish; on a failure keep
// the last parts, say so, and reconnect with a doubling, capped delay, followed by a full resync.
import { type ConfigError, configError, emptyDynamicConfig } from '@berth/config';
import { canonicalJson } from '@berth/protocol';
import { type ErrorCode, ErrorCodes } from '../../compiler/error-codes.js';
import type { ProviderLogger } from '../file-provider.js';
import type { PartsListener, ProviderPart } from '../provider-part.js';
import type { DockerEvent, EventFilters, EventHandlers, EventSubscription } from './docker-client.js';

/** The file provider's logger, plus `info` for the return of Docker after an outage. */
export interface DockerProviderLogger extends ProviderLogger {
  info(obj: object, msg: string): void;
}

export type DockerConnectionState = 'connecting' | 'connected' | 'unreachable';

/** The calls the link itself makes; each provider's client has more. */
export interface EngineConnection {
  /** A short human description of where Docker is, for logs and status (no credentials). */
  readonly endpoint: string;
  ping(): Promise<void>;
  /** Resolves once the stream is open. */
  subscribe(filters: EventFilters, handlers: EventHandlers): Promise<EventSubscription>;
}

/** What the provider on top of the link does; called only while the link's generation is current. */
export interface EngineLinkHooks {
  /** Reads everything that can matter and decodes it; throws when Docker fails. */
  resync(): Promise<void>;
  onEvent(event: DockerEvent): void;
  /** The decoder's last output, published as is (plus the outage part during an outage). */
  decoded(): ProviderPart[];
  /** A better code and message for a failure than "cannot reach Docker" (a daemon that is no Swarm manager). */
  classify?(err: unknown): { code: string; message: string } | undefined;
}

export interface EngineLinkOptions {
  /** `docker` or `swarm`: the provider the outage part belongs to. */
  provider: string;
  /** What keeps routing during an outage, for its message: `containers`, `services`. */
  noun: string;
  client: EngineConnection;
  hooks: EngineLinkHooks;
  eventFilters: EventFilters;
  /** Follow the events stream (default true); false reads once, like Traefik's `watch: false`. */
  watch?: boolean;
  logger?: DockerProviderLogger;
  /** First and longest wait between reconnect attempts (defaults 250 ms and 10 s), doubling in between. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Ping interval while connected: a stream that died without closing (a proxy, NAT) is found this way (default 10 s). */
  pingMs?: number;
  /** A full resync this often while connected (0: never). */
  resyncMs: number;
}

/** close() waits this long at most for a request in flight: a hung daemon must not hold up shutdown. */
const CLOSE_WAIT_MS = 2000;

export class EngineLink {
  readonly #provider: string;
  readonly #noun: string;
  readonly #client: EngineConnection;
  readonly #hooks: EngineLinkHooks;
  readonly #filters: EventFilters;
  readonly #watch: boolean;
  readonly #logger: DockerProviderLogger | undefined;
  readonly #reconnectMinMs: number;
  readonly #reconnectMaxMs: number;
  readonly #pingMs: number;
  readonly #resyncMs: number;

  readonly #listeners = new Set<PartsListener>();
  #parts: ProviderPart[] = [];
  #lastEmitted: string | null = null;

  #state: DockerConnectionState = 'connecting';
  #since = new Date().toISOString();
  #lastError: { code: string; message: string; at: string } | null = null;
  /** The error that began the current outage; stays the same while retries fail, so parts do not churn. */
  #outage: ConfigError | null = null;
  #publishes = 0;

  /** Bumped on every (re)connect and failure; work of an older generation sees a stale value and does nothing. */
  #generation = 0;
  #subscription: EventSubscription | null = null;
  #backoffMs: number;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  #resyncTimer: NodeJS.Timeout | null = null;
  /** Resyncs and flushes run one at a time, in order. */
  #work: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: EngineLinkOptions) {
    this.#provider = options.provider;
    this.#noun = options.noun;
    this.#client = options.client;
    this.#hooks = options.hooks;
    this.#filters = options.eventFilters;
    this.#watch = options.watch ?? true;
    this.#logger = options.logger;
    this.#reconnectMinMs = options.reconnectMinMs ?? 250;
    this.#reconnectMaxMs = Math.max(options.reconnectMaxMs ?? 10_000, this.#reconnectMinMs);
    this.#pingMs = options.pingMs ?? 10_000;
    this.#resyncMs = options.resyncMs;
    this.#backoffMs = this.#reconnectMinMs;
  }

  get generation(): number {
    return this.#generation;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get state(): DockerConnectionState {
    return this.#state;
  }

  get since(): string {
    return this.#since;
  }

  get lastError(): { code: string; message: string; at: string } | null {
    return this.#lastError;
  }

  get publishes(): number {
    return this.#publishes;
  }

  /** Resolves after the first attempt, reachable or not: an absent Docker must not hold the controller back. */
  start(): Promise<void> {
    return this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#generation++;
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#stopTimers();
    this.#subscription?.close();
    this.#subscription = null;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#work, new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  onChange(listener: PartsListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  current(): ProviderPart[] {
    return this.#parts;
  }

  /** Queues `task` behind the resync or flush in progress. */
  enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.#work.then(task).catch((err: unknown) => {
      this.#logger?.error({ err: errorMessage(err) }, `${this.#provider} provider task failed`);
    });
    this.#work = next;
    return next;
  }

  /** A full resync now (queued), then a publish; a failure is an outage with `code`. */
  refresh(code: string): Promise<void> {
    const generation = this.#generation;
    return this.enqueue(async () => {
      if (this.#closed || generation !== this.#generation) return;
      try {
        await this.#hooks.resync();
      } catch (err) {
        if (generation !== this.#generation) return;
        const known = this.#hooks.classify?.(err);
        this.fail(known?.code ?? code, known?.message ?? `cannot read from Docker: ${errorMessage(err)}`);
        return;
      }
      if (generation === this.#generation) this.publish();
    });
  }

  /** Hands listeners the decoded parts plus, during an outage, one part that says so; nothing when unchanged. */
  publish(): void {
    const parts = [...this.#hooks.decoded()];
    if (this.#outage !== null) {
      parts.push({
        sourceKey: `${this.#provider}:status`,
        provider: this.#provider,
        config: emptyDynamicConfig(),
        errors: [this.#outage],
      });
    }
    const serial = canonicalJson(parts);
    if (serial === this.#lastEmitted) return;
    this.#lastEmitted = serial;
    this.#parts = parts;
    this.#publishes++;
    for (const listener of this.#listeners) {
      try {
        listener(parts);
      } catch (err) {
        this.#logger?.error({ err: errorMessage(err) }, `${this.#provider} provider listener failed`);
      }
    }
  }

  /** Drops the stream, keeps the last good parts, and retries with a doubling, capped delay. */
  fail(code: string, message: string): void {
    if (this.#closed) return;
    const at = new Date().toISOString();
    const first = this.#outage === null;
    this.#lastError = { code, message, at };
    this.#generation++;
    this.#subscription?.close();
    this.#subscription = null;
    this.#stopTimers();
    this.#setState('unreachable');
    if (first) {
      this.#logger?.error({ code, endpoint: this.#client.endpoint }, message);
      this.#outage = {
        code,
        path: `providers.${this.#provider}`,
        message: `${message}; the last known ${this.#noun} keep routing until Docker answers again (since ${at})`,
        source: { provider: this.#provider, origin: this.#client.endpoint },
      };
      this.publish();
    }
    if (this.#reconnectTimer !== null) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#reconnectMaxMs);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#closed) return;
      this.#setState('connecting');
      void this.#connect();
    }, delay);
    this.#reconnectTimer.unref();
  }

  /** Subscribes first, then resyncs: an event during the resync is handled after it, so none falls in between. */
  #connect(): Promise<void> {
    const generation = ++this.#generation;
    this.#subscription?.close();
    this.#subscription = null;
    return this.enqueue(async () => {
      if (this.#closed || generation !== this.#generation) return;
      try {
        if (this.#watch) {
          const subscription = await this.#client.subscribe(this.#filters, {
            onEvent: (event) => {
              if (generation === this.#generation && !this.#closed) this.#hooks.onEvent(event);
            },
            onEnd: (err) => {
              if (generation !== this.#generation || this.#closed) return;
              this.fail(
                ErrorCodes.DOCKER_EVENTS_LOST,
                `the Docker events stream from ${this.#client.endpoint} ended${err ? `: ${err.message}` : ''}`,
              );
            },
          });
          if (this.#closed || generation !== this.#generation) {
            subscription.close();
            return;
          }
          this.#subscription = subscription;
        }
        await this.#hooks.resync();
        if (generation !== this.#generation) return;
        this.#backoffMs = this.#reconnectMinMs;
        if (this.#outage !== null) {
          this.#logger?.info({ endpoint: this.#client.endpoint }, 'Docker answers again; resynced');
        }
        this.#setState('connected');
        this.#outage = null;
        this.publish();
        if (this.#watch) this.#startTimers(generation);
      } catch (err) {
        if (generation !== this.#generation || this.#closed) return;
        const known = this.#hooks.classify?.(err);
        this.fail(
          known?.code ?? ErrorCodes.DOCKER_UNREACHABLE,
          known?.message ?? `cannot reach Docker at ${this.#client.endpoint}: ${errorMessage(err)}`,
        );
      }
    });
  }

  #startTimers(generation: number): void {
    this.#stopTimers();
    this.#pingTimer = setInterval(() => {
      this.#client.ping().catch((err: unknown) => {
        if (generation === this.#generation)
          this.fail(
            ErrorCodes.DOCKER_UNREACHABLE,
            `Docker at ${this.#client.endpoint} stopped answering: ${errorMessage(err)}`,
          );
      });
    }, this.#pingMs);
    this.#pingTimer.unref();
    if (this.#resyncMs <= 0) return;
    this.#resyncTimer = setInterval(() => {
      if (generation === this.#generation) void this.refresh(ErrorCodes.DOCKER_INSPECT);
    }, this.#resyncMs);
    this.#resyncTimer.unref();
  }

  #stopTimers(): void {
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer);
    if (this.#resyncTimer !== null) clearInterval(this.#resyncTimer);
    this.#pingTimer = this.#resyncTimer = null;
  }

  #setState(state: DockerConnectionState): void {
    if (state === this.#state) return;
    // Between two failed attempts of one outage, 'connecting' and 'unreachable' alternate: not news.
    const retrying = this.#outage !== null && state !== 'connected' && this.#state !== 'connected';
    if (!retrying) this.#since = new Date().toISOString();
    this.#state = state;
  }
}

/** Runs `task` over `items` with at most `limit` in flight; the first failure rejects after the rest settle. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (next < items.length && failure === null) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw failure;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The engine client a provider section asks for, or the configuration error that prevents it (an
 * unreadable TLS file, named under `providers.<section>.tls`); never throws.
 */
export function openEngineClient<C>(
  make: () => C,
  section: 'docker' | 'swarm',
  code: ErrorCode,
): { ok: true; client: C } | { ok: false; error: ConfigError } {
  try {
    return { ok: true, client: make() };
  } catch (err) {
    const path = `providers.${section}.tls`;
    return {
      ok: false,
      error: configError(code, path, `${path}: cannot read a certificate file: ${(err as Error).message}`),
    };
  }
}
