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
  | {
      kind: 'error';
      reason: 'connect' | 'timeout' | 'reset' | 'aborted' | 'protocol';
      responseStarted: boolean;
    };

export type Forward = (ctx: RequestContext, target: ForwardTarget) => Promise<ForwardOutcome>;
