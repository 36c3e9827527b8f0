// The one error a runtime build throws internally for a body it refuses whole.

export const SNAPSHOT_INVALID = 'BERTH_PROXY_SNAPSHOT_INVALID';

/** Thrown while building, caught by `buildRuntime` and turned into a result; never escapes it. */
export class SnapshotInvalid extends Error {
  readonly code = SNAPSHOT_INVALID;
}
