// The node's workers as one snapshot applier: every worker applies each snapshot, or the node refuses it.
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { ListenerInfo, NodeStats, SnapshotBody } from '@berth/protocol';
import type { Logger } from 'pino';
import type { AppliedChange, AppliedVersion, ApplyResult, SnapshotApplier } from '../agent/agent.js';
import { DATA_PLANE_CLOSED } from '../errors.js';
import {
  combineOutcomes,
  listenersKey,
  NO_WORKERS,
  type WorkerOutcome,
  withUdp,
} from './combine-outcomes.js';
import { isFromWorker, type ToWorker, WORKER_INIT_ENV, WORKER_NO_BASE, type WorkerInit } from './messages.js';
import {
  DEFAULT_RESTART_POLICY,
  nextRestart,
  type RestartPolicy,
  type SlotHistory,
} from './restart-policy.js';

export const WORKERS_START_FAILED = 'BERTH_PROXY_WORKERS_START';

export interface WorkerPoolOptions {
  /** How many worker processes; at least 1. */
  workers: number;
  logger: Logger;
  entryPointOverrides?: Record<string, string>;
  /** This node's name, sent upstream as X-Forwarded-Server. */
  nodeName?: string;
  /** How long a stopping worker lets requests in flight finish. Default: the data plane's. */
  closeDrainMs?: number;
  /**
   * A stopping worker bounds its own drain (entry point grace periods); past this it is stuck
   * and killed. Default 60 s.
   */
  stopTimeoutMs?: number;
  /** A worker that does not answer an apply within this is killed and replaced. Default 60 s. */
  applyTimeoutMs?: number;
  /** How long `start()` and an apply with no running worker wait for workers. Default 30 s. */
  startTimeoutMs?: number;
  restartPolicy?: RestartPolicy;
  /** How often the primary checks that each worker's event loop still answers. Default 2 s. */
  heartbeatMs?: number;
  /**
   * A worker silent this long is stuck (a runaway loop in a request, say): it is killed and
   * replaced, since it can no longer serve its connections. Default 15 s, beyond any apply.
   */
  unresponsiveMs?: number;
  /** The worker entry script; tests substitute stand-ins that speak the same IPC messages. */
  exec?: string;
  /** Called whenever a worker starts, exits, or changes the version it serves. */
  onChange?: () => void;
  /** Called when `listeners()` changes between applies: a worker bound an entry point it was retrying. */
  onListenersChange?: () => void;
}

export type WorkerState = 'starting' | 'ready' | 'serving';

export interface WorkerStatus {
  slot: number;
  pid: number;
  /** `starting`: not yet answering; `ready`: answering, catching up; `serving`: on the node's version. */
  state: WorkerState;
  appliedVersion: number;
  appliedHash: string | null;
  /** How many times this slot's worker was replaced. */
  restarts: number;
}

interface Handle {
  slot: Slot;
  worker: Worker;
  pid: number;
  state: WorkerState | 'exited';
  servingSince: number;
  /** When the worker last sent anything: its event loop was alive then. */
  lastHeard: number;
  applied: AppliedVersion | null;
  /** The body this worker last applied (the primary's object): a delta on it goes as its ops. */
  body: SnapshotBody | null;
  pending: Map<number, (result: ApplyResult | null) => void>;
  exited: Promise<void>;
}

interface Slot {
  slot: number;
  history: SlotHistory;
  restarts: number;
  handle: Handle | null;
  timer: NodeJS.Timeout | null;
}

interface Current {
  body: SnapshotBody;
  version: AppliedVersion | null;
}

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));
let clusterConfigured = false;

/**
 * Round robin (SCHED_RR): the primary accepts and hands each connection to the next worker.
 * Linux's shared accept queue (SCHED_NONE) lets the worker that wakes first take the whole
 * backlog, so a few long keep-alive clients can pin one core while the others idle; for a load
 * balancer an even spread is worth the primary's small cost per connection (not per request).
 * NODE_CLUSTER_SCHED_POLICY=none still switches to the kernel's distribution.
 */
function configureCluster(exec: string): void {
  if (!clusterConfigured && !process.env['NODE_CLUSTER_SCHED_POLICY'])
    cluster.schedulingPolicy = cluster.SCHED_RR;
  clusterConfigured = true;
  cluster.setupPrimary({
    exec,
    args: [],
    // A test runner's flags would turn the worker into a test file.
    execArgv: process.execArgv.filter((a) => !a.startsWith('--test')),
    silent: false,
  });
}

export class WorkerPool implements SnapshotApplier {
  readonly #o: Required<
    Omit<
      WorkerPoolOptions,
      'onChange' | 'onListenersChange' | 'entryPointOverrides' | 'closeDrainMs' | 'nodeName'
    >
  > &
    Pick<WorkerPoolOptions, 'onChange' | 'onListenersChange' | 'closeDrainMs' | 'nodeName'> & {
      entryPointOverrides: Record<string, string>;
    };
  readonly #log: Logger;
  readonly #slots: Slot[] = [];
  #current: Current | null = null;
  #listeners: ListenerInfo[] = [];
  #seq = 0;
  /** Waiting questions to workers (metrics, stats), by sequence number. */
  readonly #answers = new Map<number, (answer: string | NodeStats | null) => void>();
  /** Applies, reverts and catch-ups run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Woken whenever a worker becomes ready or exits. */
  #waiters = new Set<() => void>();
  #heartbeat: NodeJS.Timeout | null = null;

  constructor(opts: WorkerPoolOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new RangeError('workers must be ≥ 1');
    this.#o = {
      applyTimeoutMs: 60_000,
      startTimeoutMs: 30_000,
      restartPolicy: DEFAULT_RESTART_POLICY,
      heartbeatMs: 2_000,
      unresponsiveMs: 15_000,
      stopTimeoutMs: 60_000,
      exec: WORKER_MAIN,
      ...opts,
      entryPointOverrides: opts.entryPointOverrides ?? {},
    };
    this.#log = opts.logger.child({ component: 'workers' });
    for (let i = 1; i <= opts.workers; i++)
      this.#slots.push({ slot: i, history: { quickExits: 0 }, restarts: 0, handle: null, timer: null });
  }

  /**
   * Forks every worker and waits until each answers (none listens before its first apply). The
   * first worker boots alone: on a busy machine it gets a core to itself and serves (the cached
   * snapshot, say) sooner; the others fork as soon as it answers, or exits.
   */
  async start(): Promise<void> {
    const [first, ...others] = this.#slots;
    if (first) this.#spawn(first);
    this.#heartbeat = setInterval(() => this.#checkLiveness(), this.#o.heartbeatMs);
    this.#heartbeat.unref();
    await this.#until(() => first?.handle?.state !== 'starting', this.#o.startTimeoutMs);
    for (const slot of others) if (slot.handle === null && slot.timer === null) this.#spawn(slot);
    const all = await this.#until(
      () => this.#slots.every((s) => s.handle && s.handle.state !== 'starting'),
      this.#o.startTimeoutMs,
    );
    if (!all) {
      const error = new Error(`the workers did not start within ${this.#o.startTimeoutMs} ms`);
      Object.assign(error, { code: WORKERS_START_FAILED });
      throw error;
    }
    this.#log.info(
      { workers: this.#slots.length, workerPids: this.workers().map((w) => w.pid) },
      'workers started',
    );
  }

  /**
   * `change`: `body` is a delta's result on the body applied last; a worker serving that body gets
   * the ops (a few bytes) and rebuilds only what they name, instead of the whole body.
   */
  apply(body: SnapshotBody, version?: AppliedVersion, change?: AppliedChange): Promise<ApplyResult> {
    return this.#serial(() => this.#applyAll(body, version ?? null, change));
  }

  listeners(): ListenerInfo[] {
    return this.#listeners;
  }

  workers(): WorkerStatus[] {
    const out: WorkerStatus[] = [];
    for (const s of this.#slots) {
      const h = s.handle;
      if (!h || h.state === 'exited') continue;
      out.push({
        slot: s.slot,
        pid: h.pid,
        state: h.state,
        appliedVersion: h.applied?.version ?? 0,
        appliedHash: h.applied?.hash ?? null,
        restarts: s.restarts,
      });
    }
    return out;
  }

  /** Stops every worker: each stops accepting and drains its requests, then exits. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    for (const s of this.#slots) if (s.timer) clearTimeout(s.timer);
    await this.#queue;
    const handles = this.#slots.flatMap((s) => (s.handle ? [s.handle] : []));
    const graceMs = Math.max(this.#o.stopTimeoutMs, this.#o.closeDrainMs ?? 0);
    await Promise.all(
      handles.map(async (h) => {
        // A worker still loading may not listen to IPC yet; its signal handler (or the default) stops it.
        if (h.state === 'starting' || !this.#send(h, { type: 'berth:stop' }))
          h.worker.process.kill('SIGTERM');
        const timer = setTimeout(() => {
          this.#log.warn({ slot: h.slot.slot, workerPid: h.pid }, 'worker did not stop in time; killing it');
          h.worker.process.kill('SIGKILL');
        }, graceMs);
        await h.exited;
        clearTimeout(timer);
      }),
    );
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #applyAll(
    body: SnapshotBody,
    version: AppliedVersion | null,
    change: AppliedChange | undefined,
  ): Promise<ApplyResult> {
    if (this.#closed) return { ok: false, code: DATA_PLANE_CLOSED, error: 'the node is stopping' };
    // Workers still catching up take this snapshot instead: it is the one they must end on.
    const answering = () =>
      this.#slots.flatMap((s) =>
        s.handle && (s.handle.state === 'ready' || s.handle.state === 'serving') ? [s.handle] : [],
      );
    let targets = answering();
    if (targets.length === 0) {
      await this.#until(() => answering().length > 0, this.#o.startTimeoutMs);
      targets = answering();
    }
    if (targets.length === 0) return { ok: false, code: NO_WORKERS, error: 'no worker is running' };

    const outcomes: WorkerOutcome<Handle>[] = await Promise.all(
      targets.map(async (worker) => {
        const result = await this.#applyOn(worker, body, change);
        return result ? { worker, result } : { worker, lost: true as const };
      }),
    );
    const combined = combineOutcomes(outcomes);
    if (combined.result.ok) {
      this.#current = { body, version };
      this.#listeners = combined.result.listeners;
      for (const h of combined.applied) this.#serving(h, version);
      if (combined.diverged.length > 0)
        this.#log.error(
          { slots: combined.diverged.map((h) => h.slot.slot), listeners: this.#listeners },
          'workers bound different addresses for the same snapshot',
        );
    } else {
      // All or nothing for the node: whoever applied it goes back to what the others serve.
      for (const h of combined.revert) await this.#revert(h);
    }
    this.#o.onChange?.();
    return combined.result;
  }

  async #revert(h: Handle): Promise<void> {
    const current = this.#current;
    if (current) {
      const result = await this.#applyOn(h, current.body);
      if (result?.ok) {
        this.#serving(h, current.version);
        return;
      }
    }
    // Nothing to go back to (or going back failed): a fresh worker starts from the node's version.
    this.#log.warn(
      { slot: h.slot.slot, workerPid: h.pid },
      'replacing a worker that cannot return to the node version',
    );
    h.worker.process.kill('SIGKILL');
  }

  async #catchUp(h: Handle): Promise<void> {
    if (h.state !== 'ready') return;
    const current = this.#current;
    if (!current) {
      this.#serving(h, null);
      return;
    }
    const result = await this.#applyOn(h, current.body);
    if (h.state !== 'ready') return;
    if (!result?.ok) {
      this.#log.error(
        { slot: h.slot.slot, workerPid: h.pid, code: result?.code, err: result?.error },
        'a new worker cannot apply the node version; replacing it',
      );
      h.worker.process.kill('SIGKILL');
      return;
    }
    if (listenersKey(result.listeners) !== listenersKey(this.#listeners)) {
      const others = this.#slots.some((s) => s.handle && s.handle !== h && s.handle.state === 'serving');
      // With every worker gone the primary released the sockets, so a `:0` address binds anew.
      if (!others) this.#listeners = result.listeners;
      else
        this.#log.error(
          { slot: h.slot.slot, listeners: result.listeners, expected: this.#listeners },
          'a new worker bound different addresses than the others',
        );
    }
    // The first worker's replacement serves UDP anew (its addresses may differ with `:0`).
    if (result.listeners.some((l) => l.protocol === 'udp'))
      this.#listeners = withUdp(
        this.#listeners.filter((l) => l.protocol !== 'udp'),
        [result.listeners],
      );
    this.#serving(h, current.version);
    // It may have bound an entry point the others are still retrying.
    this.#listenersBound(result.listeners);
    this.#log.info(
      { slot: h.slot.slot, workerPid: h.pid, version: current.version?.version },
      'replacement worker serving',
    );
    this.#o.onChange?.();
  }

  #serving(h: Handle, version: AppliedVersion | null): void {
    if (h.state === 'exited') return;
    if (h.state !== 'serving') h.servingSince = Date.now();
    h.state = 'serving';
    h.applied = version;
  }

  /**
   * The worker's result, or null when it exited, could not be reached, or hung (then it is killed).
   * With `change` on the body the worker serves, only the ops cross; should the worker not have
   * that body after all, the whole body follows.
   */
  async #applyOn(h: Handle, body: SnapshotBody, change?: AppliedChange): Promise<ApplyResult | null> {
    if (change !== undefined && h.body !== null && h.body === change.base) {
      const result = await this.#send1(h, (seq) => ({ type: 'berth:apply-ops', seq, ops: [...change.ops] }));
      if (result?.ok === false && result.code === WORKER_NO_BASE) h.body = null;
      else {
        if (result?.ok) h.body = body;
        return result;
      }
    }
    const result = await this.#send1(h, (seq) => ({ type: 'berth:apply', seq, body }));
    if (result?.ok) h.body = body;
    return result;
  }

  #send1(h: Handle, message: (seq: number) => ToWorker): Promise<ApplyResult | null> {
    if (h.state === 'exited') return Promise.resolve(null);
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#log.error(
          { slot: h.slot.slot, workerPid: h.pid },
          'worker did not answer an apply; killing it',
        );
        h.worker.process.kill('SIGKILL');
        done(null);
      }, this.#o.applyTimeoutMs);
      const done = (result: ApplyResult | null) => {
        clearTimeout(timer);
        h.pending.delete(seq);
        resolve(result);
      };
      h.pending.set(seq, done);
      if (!this.#send(h, message(seq))) done(null);
    });
  }

  /**
   * Every serving worker's Prometheus exposition, by slot; a worker that does not answer within
   * `timeoutMs` is left out of this scrape rather than holding it up.
   */
  async metricsTexts(timeoutMs = 2_000): Promise<{ slot: number; text: string }[]> {
    const answers = await this.#ask('berth:metrics', timeoutMs);
    return answers.flatMap((a) => (typeof a.answer === 'string' ? [{ slot: a.slot, text: a.answer }] : []));
  }

  /**
   * The node's exposition: every serving worker's merged, each sample labelled `worker` (what
   * `--metrics` serves and `prometheus@internal` answers in any worker); null when none answered.
   */
  async nodeMetricsText(timeoutMs = 2_000): Promise<string | null> {
    const texts = await this.metricsTexts(timeoutMs);
    if (texts.length === 0) return null;
    const { mergeExpositions } = await import('../observability/merge-expositions.js');
    return mergeExpositions(texts);
  }

  /** Every serving worker's traffic and health numbers, for the node's report to the controller. */
  async workerStats(timeoutMs = 2_000): Promise<NodeStats[]> {
    const answers = await this.#ask('berth:stats', timeoutMs);
    return answers.flatMap((a) => (typeof a.answer === 'object' && a.answer !== null ? [a.answer] : []));
  }

  async #ask(
    type: 'berth:metrics' | 'berth:stats',
    timeoutMs: number,
  ): Promise<{ slot: number; answer: string | NodeStats }[]> {
    const handles = this.#slots.flatMap((s) =>
      s.handle && (s.handle.state === 'ready' || s.handle.state === 'serving') ? [s.handle] : [],
    );
    const answers = await Promise.all(
      handles.map(
        (h) =>
          new Promise<{ slot: number; answer: string | NodeStats } | null>((resolve) => {
            const seq = ++this.#seq;
            const done = (answer: string | NodeStats | null): void => {
              clearTimeout(timer);
              this.#answers.delete(seq);
              resolve(answer === null ? null : { slot: h.slot.slot, answer });
            };
            const timer = setTimeout(() => done(null), timeoutMs);
            this.#answers.set(seq, done);
            if (!this.#send(h, { type, seq })) done(null);
          }),
      ),
    );
    return answers.filter((a): a is { slot: number; answer: string | NodeStats } => a !== null);
  }

  #send(h: Handle, msg: ToWorker): boolean {
    if (h.state === 'exited' || !h.worker.isConnected()) return false;
    try {
      h.worker.send(msg, (err: Error | null) => {
        if (err) this.#log.debug({ slot: h.slot.slot, err: err.message }, 'cannot reach worker');
      });
      return true;
    } catch {
      return false;
    }
  }

  #spawn(slot: Slot): void {
    slot.timer = null;
    if (this.#closed) return;
    const init: WorkerInit = {
      slot: slot.slot,
      logLevel: this.#o.logger.level,
      bindings: this.#o.logger.bindings(),
      entryPointOverrides: this.#o.entryPointOverrides,
      ...(this.#o.closeDrainMs === undefined ? {} : { closeDrainMs: this.#o.closeDrainMs }),
      ...(this.#o.nodeName === undefined ? {} : { nodeName: this.#o.nodeName }),
    };
    configureCluster(this.#o.exec);
    // Workers parse untrusted traffic and never talk to the controller: they get no join token.
    const worker = cluster.fork({ [WORKER_INIT_ENV]: JSON.stringify(init), BERTH_JOIN_TOKEN: undefined });
    let onExit: () => void = () => {};
    const h: Handle = {
      slot,
      worker,
      pid: worker.process.pid ?? 0,
      state: 'starting',
      servingSince: 0,
      lastHeard: Date.now(),
      applied: null,
      body: null,
      pending: new Map(),
      exited: new Promise<void>((r) => {
        onExit = r;
      }),
    };
    slot.handle = h;
    const readyTimer = setTimeout(() => {
      this.#log.error({ slot: slot.slot, workerPid: h.pid }, 'worker did not start in time; killing it');
      worker.process.kill('SIGKILL');
    }, this.#o.startTimeoutMs);
    worker.on('error', (err) =>
      this.#log.debug({ slot: slot.slot, err: err.message }, 'worker channel error'),
    );
    worker.on('message', (msg: unknown) => {
      if (!isFromWorker(msg)) return;
      h.lastHeard = Date.now();
      if (msg.type === 'berth:pong') return;
      if (msg.type === 'berth:listeners') {
        if (h.state === 'serving') this.#listenersBound(msg.listeners);
        return;
      }
      if (msg.type === 'berth:node-metrics') {
        const seq = msg.seq;
        void this.nodeMetricsText().then((text) => this.#send(h, { type: 'berth:node-metrics', seq, text }));
        return;
      }
      if (msg.type === 'berth:metrics' || msg.type === 'berth:stats') {
        this.#answers.get(msg.seq)?.(msg.type === 'berth:metrics' ? msg.text : msg.stats);
        return;
      }
      if (msg.type === 'berth:ready') {
        clearTimeout(readyTimer);
        if (h.state !== 'starting') return;
        h.state = 'ready';
        this.#wake();
        void this.#serial(() => this.#catchUp(h));
        this.#o.onChange?.();
      } else {
        h.pending.get(msg.seq)?.(msg.result);
      }
    });
    worker.once('exit', (code: number | null, signal: string | null) => {
      clearTimeout(readyTimer);
      const uptime = h.servingSince ? Date.now() - h.servingSince : 0;
      h.state = 'exited';
      for (const done of [...h.pending.values()]) done(null);
      if (slot.handle === h) slot.handle = null;
      onExit();
      this.#wake();
      if (this.#closed) return;
      const delayMs = nextRestart(slot.history, uptime, this.#o.restartPolicy);
      slot.restarts++;
      this.#log.warn(
        { slot: slot.slot, workerPid: h.pid, code, signal, restartInMs: delayMs },
        'worker exited; replacing it',
      );
      slot.timer = setTimeout(() => this.#spawn(slot), delayMs);
      this.#o.onChange?.();
    });
  }

  /**
   * A worker bound an entry point the node reported `retrying`. Workers share each listening
   * socket through this process, so one worker bound means the entry point serves.
   */
  #listenersBound(reported: ListenerInfo[]): void {
    let changed = false;
    const next = this.#listeners.map((l) => {
      if (l.state !== 'retrying') return l;
      const now = reported.find((r) => r.entryPoint === l.entryPoint && r.state !== 'retrying');
      if (now === undefined) return l;
      changed = true;
      return now;
    });
    if (!changed) return;
    this.#listeners = next;
    this.#log.info({ listeners: next }, 'a retried entry point listens');
    this.#o.onListenersChange?.();
  }

  #checkLiveness(): void {
    const now = Date.now();
    for (const s of this.#slots) {
      const h = s.handle;
      if (!h || h.state === 'starting' || h.state === 'exited') continue;
      if (now - h.lastHeard > this.#o.unresponsiveMs) {
        this.#log.error(
          { slot: s.slot, workerPid: h.pid, silentMs: now - h.lastHeard },
          'worker stopped answering; killing it',
        );
        h.worker.process.kill('SIGKILL');
      } else {
        this.#send(h, { type: 'berth:ping' });
      }
    }
  }

  #wake(): void {
    for (const w of this.#waiters) w();
  }

  /** Resolves true as soon as `condition` holds, false after `timeoutMs`. */
  #until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!condition() && !this.#closed) return;
        finish(condition());
      };
      const finish = (value: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => finish(condition()), timeoutMs);
      this.#waiters.add(check);
    });
  }
}
