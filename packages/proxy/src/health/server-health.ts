// The contract between health checking and balancing: which servers may take requests now.
import type { ServerTarget } from '../runtime/types.js';

/**
 * Health lives longer than one snapshot: a registry owned by the data plane, keyed by service
 * name and server URL, so a config change neither forgets an ejected server nor restarts checks
 * that did not change.
 */
export interface ServerHealth {
  /** False while an active check says down or passive checks have ejected the server. */
  isAvailable(service: string, server: ServerTarget): boolean;
  /** Passive checks: the outcome of one forwarded request (`ok` false for errors and 5xx). */
  record(service: string, server: ServerTarget, ok: boolean): void;
}

/** Every server available, nothing recorded: for tests and for services without checks. */
export const ALWAYS_AVAILABLE: ServerHealth = {
  isAvailable: () => true,
  record: () => {},
};
