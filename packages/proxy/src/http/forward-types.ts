// The contract between service handlers and the forwarder.
import type { ServerTarget } from '../runtime/types.js';
import type { RequestContext } from './context.js';

export interface ForwardTarget {
  server: ServerTarget;
  /** Forward the client's Host header (default) rather than the server's. */
  passHostHeader: boolean;
  /** Name of the `http.serversTransports` entry to use (timeouts, TLS, limits); default transport when absent. */
  serversTransport?: string;
}

/**
 * What happened upstream. On an error the forwarder has already answered the client (502, or 504
 * for timeouts) through `ctx.respond` after setting `ctx.log.error`, unless the response had
 * started, in which case it cut the connection. Passive health and retry read this.
 */
export type ForwardOutcome =
  | { kind: 'response'; status: number }
  /**
   * Only when the caller allowed it (`redispatch`): the connection to the server failed before a
   * byte of the request was sent, and nothing was answered, so another server may be tried.
   */
  | { kind: 'refused'; reason: 'connect' | 'timeout' }
  | {
      kind: 'error';
      reason: 'connect' | 'timeout' | 'reset' | 'aborted' | 'protocol';
      responseStarted: boolean;
    };

/**
 * `redispatch`: a connect failure (refused, unreachable, connect timeout) of a request without a
 * body resolves `refused` instead of answering 502/504, so the caller can try another server.
 */
export type Forward = (
  ctx: RequestContext,
  target: ForwardTarget,
  redispatch?: boolean,
) => Promise<ForwardOutcome>;
