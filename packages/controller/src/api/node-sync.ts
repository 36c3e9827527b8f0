// Whether a node serves the controller's current snapshot; the one definition the API's "converged" rests on.
import type { Snapshot } from '@berth/protocol';
import type { NodeView } from '../distributor/node-view.js';

export function nodeInSync(node: NodeView, current: Snapshot | null): boolean {
  if (current === null) return false;
  // Versions only compare within an epoch; the hash, when known, guards against a store that was reset and replayed.
  return (
    node.appliedEpoch === current.epoch &&
    node.appliedVersion === current.version &&
    (node.appliedHash === null || node.appliedHash === current.hash)
  );
}

/** Every connected node serves the current snapshot. Vacuously true with no nodes, false with no snapshot. */
export function converged(nodes: readonly NodeView[], current: Snapshot | null): boolean {
  return current !== null && nodes.filter((n) => n.connected).every((n) => nodeInSync(n, current));
}
