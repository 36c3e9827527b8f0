// Probes one server of one service at its interval and keeps its up/down state; logs each change once.

import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { ActiveSettings } from './active-settings.js';
import { grpcProbe } from './grpc-probe.js';
import { probe } from './probe.js';

export interface ActiveCheckerOptions {
  service: string;
  /** The server URL as configured, for logs. */
  server: string;
  settings: ActiveSettings;
  dispatcherFor: (settings: ActiveSettings) => Dispatcher;
  logger: Logger;
  now: () => number;
}

export class ActiveChecker {
  readonly #o: ActiveCheckerOptions;
  #settings: ActiveSettings;
  /** Until the first probe answers a server counts as up, as Traefik does. */
  #up = true;
  #since: number;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #stopped = false;
  readonly #abort = new AbortController();

  constructor(options: ActiveCheckerOptions) {
    this.#o = options;
    this.#settings = options.settings;
    this.#since = options.now();
  }

  get up(): boolean {
    return this.#up;
  }

  /** Epoch ms of the last change of `up`. */
  get since(): number {
    return this.#since;
  }

  get settings(): ActiveSettings {
    return this.#settings;
  }

  /** The first probe runs now. */
  start(): void {
    this.#tick();
  }

  /** New settings, same state: probe again now with them. */
  retune(settings: ActiveSettings): void {
    this.#settings = settings;
    if (this.#stopped || this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#abort.abort();
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#running = true;
    const settings = this.#settings;
    const probing =
      settings.mode === 'grpc'
        ? grpcProbe(settings, this.#abort.signal)
        : probe(this.#o.dispatcherFor(settings), settings, this.#abort.signal);
    void probing.then((result) => {
      this.#running = false;
      if (this.#stopped) return;
      if (result.healthy !== this.#up) {
        this.#up = result.healthy;
        this.#since = this.#o.now();
        const fields = { service: this.#o.service, server: this.#o.server, probe: result.detail };
        if (result.healthy) this.#o.logger.info(fields, 'server is healthy again');
        else this.#o.logger.warn(fields, 'server failed its health check; taking it out');
      }
      const current = this.#settings;
      const delay = this.#up ? current.intervalMs : current.unhealthyIntervalMs;
      this.#timer = setTimeout(() => this.#tick(), delay);
      this.#timer.unref();
    });
  }
}
