// The node's TLS termination across snapshots: one terminator per entry point, one TLS state per snapshot swapped into all of them.
import type { Logger } from 'pino';
import type { TlsProblem } from './options-in-effect.js';
import type { TlsStateInput } from './tls-state.js';
import { TlsState } from './tls-state.js';
import { EdgeTlsTerminator } from './tls-terminator.js';

export interface TlsTerminationOptions {
  logger: Logger;
  /** Per handshake (default 10 s). */
  handshakeTimeoutMs?: number;
}

/**
 * What the data plane keeps: `apply` builds the snapshot's TLS state off to the side (taking
 * over unchanged secure contexts from the previous one), then swaps it into every terminator
 * in one assignment each. Handshakes already running finish with the state they began with.
 */
export class TlsTermination {
  readonly #logger: Logger;
  readonly #timeoutMs: number | undefined;
  readonly #terminators = new Map<string, EdgeTlsTerminator>();
  #state: TlsState | undefined;

  constructor(opts: TlsTerminationOptions) {
    this.#logger = opts.logger;
    this.#timeoutMs = opts.handshakeTimeoutMs;
  }

  get state(): TlsState | undefined {
    return this.#state;
  }

  /** The entry point's terminator, made on first use and kept across snapshots. */
  terminator(entryPoint: string): EdgeTlsTerminator {
    let terminator = this.#terminators.get(entryPoint);
    if (terminator === undefined) {
      terminator = new EdgeTlsTerminator({
        entryPoint,
        logger: this.#logger,
        state: this.#state,
        ...(this.#timeoutMs === undefined ? {} : { handshakeTimeoutMs: this.#timeoutMs }),
      });
      this.#terminators.set(entryPoint, terminator);
    }
    return terminator;
  }

  /** An entry point that is gone. */
  forget(entryPoint: string): void {
    this.#terminators.delete(entryPoint);
  }

  /**
   * Applies a snapshot's TLS side; never throws for what a user wrote. The problems (conflicting
   * or unknown TLS options) are logged as warnings and returned; the names concerned get `default`.
   */
  apply(body: TlsStateInput): readonly TlsProblem[] {
    const state = TlsState.fromBody(body, this.#logger, this.#state);
    this.#state = state;
    for (const terminator of this.#terminators.values()) terminator.update(state);
    const problems = state?.problems ?? [];
    for (const p of problems) {
      this.#logger.warn(
        { code: p.code, entryPoint: p.entryPoint, host: p.host, routers: p.routers },
        p.message,
      );
    }
    return problems;
  }
}
