// Waiting until every connected node serves a version (or a later one): what an ACME challenge needs
// before the CA is asked to look, since the CA may reach any node.
import type { NodeView } from './node-view.js';

export type AppliedState =
  | { state: 'done' }
  /** A connected node refused the version (or a later one) and serves an older one. */
  | { state: 'refused'; node: NodeView }
  /** Connected nodes still on an older version (or another epoch). */
  | { state: 'waiting'; behind: NodeView[] };

/** Disconnected nodes do not count: they get the newest snapshot when they come back. */
export function appliedState(nodes: readonly NodeView[], epoch: string, version: number): AppliedState {
  const behind: NodeView[] = [];
  for (const n of nodes) {
    if (!n.connected) continue;
    if (n.appliedEpoch === epoch && n.appliedVersion >= version) continue;
    if (n.lastNack !== null && n.lastNack.version >= version) return { state: 'refused', node: n };
    behind.push(n);
  }
  return behind.length === 0 ? { state: 'done' } : { state: 'waiting', behind };
}

/** Why the wait failed, naming the nodes. */
export class NodesNotInSync extends Error {
  constructor(
    readonly code: 'BERTH_NODE_REFUSED_VERSION' | 'BERTH_NODES_BEHIND',
    message: string,
    readonly nodes: readonly string[],
  ) {
    super(message);
    this.name = 'NodesNotInSync';
  }
}

const describeNode = (n: NodeView) =>
  `${n.name} (${n.id.slice(0, 8)}, serving v${n.appliedVersion}${n.pendingVersion === null ? '' : `, v${n.pendingVersion} sent`})`;

export interface AppliedSource {
  list(): NodeView[];
  onChange(cb: () => void): () => void;
}

/**
 * Resolves once every connected node has applied `version` of `epoch` or a later one. Rejects
 * with NodesNotInSync when a connected node refuses it (naming the node and its reason), or when
 * `signal` aborts first (naming the nodes still behind).
 */
export function whenApplied(
  source: AppliedSource,
  epoch: string,
  version: number,
  signal: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let off = () => {};
    const finish = (err?: Error) => {
      off();
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const check = (): boolean => {
      const s = appliedState(source.list(), epoch, version);
      if (s.state === 'done') finish();
      else if (s.state === 'refused') {
        const nack = s.node.lastNack;
        finish(
          new NodesNotInSync(
            'BERTH_NODE_REFUSED_VERSION',
            `node ${describeNode(s.node)} refused v${nack?.version}: ${nack?.error ?? 'no reason'} [${nack?.code ?? '?'}]`,
            [s.node.name],
          ),
        );
      } else return false;
      return true;
    };
    const onAbort = () => {
      if (check()) return;
      const s = appliedState(source.list(), epoch, version);
      const behind = s.state === 'waiting' ? s.behind : [];
      finish(
        new NodesNotInSync(
          'BERTH_NODES_BEHIND',
          `not every connected node serves v${version} yet: ${behind.map(describeNode).join(', ') || 'none'}`,
          behind.map((n) => n.name),
        ),
      );
    };
    if (check()) return;
    if (signal.aborted) return onAbort();
    off = source.onChange(() => void check());
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
