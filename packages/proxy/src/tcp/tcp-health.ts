// Active TCP health checks: connect (optionally send a line and expect a reply), per server, on timers.
import { connect } from 'node:net';
import type { Logger } from 'pino';
import type { TcpHealthSpec } from './tcp-services.js';

/** One probe: connects, writes `send` if any, waits until the reply contains `expect` if any. */
export function probeTcp(
  spec: Pick<TcpHealthSpec, 'host' | 'port' | 'send' | 'expect' | 'timeoutMs'>,
): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = connect({ host: spec.host, port: spec.port });
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), spec.timeoutMs);
    timer.unref();
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    let reply = '';
    socket.on('connect', () => {
      if (spec.send !== undefined && spec.send !== '') socket.write(spec.send);
      if (spec.expect === undefined || spec.expect === '') finish(true);
    });
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (spec.expect !== undefined && reply.includes(spec.expect)) finish(true);
      else if (reply.length > 64 * 1024) finish(false);
    });
  });
}

interface Check {
  spec: TcpHealthSpec;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  closed: boolean;
}

/**
 * Health status of TCP servers, kept across snapshots by key (service + address): a server
 * starts up (as Traefik's) and goes down at the first failed probe, up again at the first good one.
 */
export class TcpHealth {
  readonly #status = new Map<string, boolean>();
  readonly #checks = new Map<string, Check>();
  readonly #logger: Logger;
  readonly #probe: typeof probeTcp;

  constructor(logger: Logger, probe: typeof probeTcp = probeTcp) {
    this.#logger = logger;
    this.#probe = probe;
  }

  /** Servers without a check are always up. */
  isUp(key: string): boolean {
    return this.#status.get(key) ?? true;
  }

  /** Replaces the set of checks; statuses of keys still checked survive. */
  update(specs: readonly TcpHealthSpec[]): void {
    const wanted = new Map(specs.map((s) => [s.key, s]));
    for (const [key, check] of this.#checks) {
      if (wanted.has(key)) continue;
      this.#stop(check);
      this.#checks.delete(key);
      this.#status.delete(key);
    }
    for (const [key, spec] of wanted) {
      const old = this.#checks.get(key);
      if (old) {
        if (JSON.stringify(old.spec) === JSON.stringify(spec)) continue;
        this.#stop(old);
      }
      const check: Check = { spec, timer: undefined, running: false, closed: false };
      this.#checks.set(key, check);
      this.#schedule(check, 0);
    }
  }

  close(): void {
    for (const check of this.#checks.values()) this.#stop(check);
    this.#checks.clear();
  }

  #stop(check: Check): void {
    check.closed = true;
    if (check.timer) clearTimeout(check.timer);
  }

  #schedule(check: Check, delayMs: number): void {
    check.timer = setTimeout(() => void this.#run(check), delayMs);
    check.timer.unref();
  }

  async #run(check: Check): Promise<void> {
    if (check.closed) return;
    const ok = await this.#probe(check.spec);
    if (check.closed) return;
    const was = this.isUp(check.spec.key);
    this.#status.set(check.spec.key, ok);
    if (was !== ok) {
      this.#logger.info(
        { server: check.spec.key, host: check.spec.host, port: check.spec.port },
        ok ? 'tcp server healthy again' : 'tcp server failed its health check',
      );
    }
    this.#schedule(check, ok ? check.spec.intervalMs : check.spec.unhealthyIntervalMs);
  }
}
