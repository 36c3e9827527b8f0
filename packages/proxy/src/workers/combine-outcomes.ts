// Folds what each worker answered to one snapshot into the node's single answer: all applied, or not.
import type { ListenerInfo } from '@berth/protocol';
import type { ApplyResult } from '../agent/agent.js';

export const WORKER_LOST = 'BERTH_PROXY_WORKER_LOST';
export const NO_WORKERS = 'BERTH_PROXY_NO_WORKERS';

/** One worker's answer: its data plane's result, or `lost` when it died or hung before answering. */
export type WorkerOutcome<W> = { worker: W; result: ApplyResult } | { worker: W; lost: true };

export interface Combined<W> {
  result: ApplyResult;
  /** Workers that applied a snapshot the node refuses: they must go back to the previous one. */
  revert: W[];
  /** Workers now serving the snapshot (only when the result is ok). */
  applied: W[];
  /** Workers whose listeners differ from the first one's (should never happen; logged). */
  diverged: W[];
}

/**
 * A refusal by any worker refuses the snapshot for the node. A worker that died is not a refusal:
 * its replacement catches up with whatever the node serves. But if every worker died, the
 * snapshot is suspect and refused, so replacements come back on the previous one.
 */
export function combineOutcomes<W>(outcomes: WorkerOutcome<W>[]): Combined<W> {
  const ok: { worker: W; listeners: ListenerInfo[] }[] = [];
  let refused: { code: string; error: string } | null = null;
  for (const o of outcomes) {
    if ('lost' in o) continue;
    if (o.result.ok) ok.push({ worker: o.worker, listeners: o.result.listeners });
    else refused ??= { code: o.result.code, error: o.result.error };
  }
  const workers = ok.map((o) => o.worker);
  if (refused) return { result: { ok: false, ...refused }, revert: workers, applied: [], diverged: [] };
  const first = ok[0];
  if (!first) {
    const error =
      outcomes.length === 0 ? 'no worker is running' : 'every worker exited while applying this snapshot';
    return {
      result: { ok: false, code: outcomes.length === 0 ? NO_WORKERS : WORKER_LOST, error },
      revert: [],
      applied: [],
      diverged: [],
    };
  }
  const key = listenersKey(first.listeners);
  return {
    result: {
      ok: true,
      listeners: withUdp(
        first.listeners,
        ok.map((o) => o.listeners),
      ),
    },
    revert: [],
    applied: workers,
    diverged: ok.filter((o) => listenersKey(o.listeners) !== key).map((o) => o.worker),
  };
}

/** TCP listeners, which every worker shares; UDP ones are the first worker's alone (see worker-main). */
export function listenersKey(listeners: ListenerInfo[]): string {
  return listeners
    .filter((l) => l.protocol !== 'udp')
    .map((l) => `${l.entryPoint}=${l.address}`)
    .join(',');
}

/** `listeners` (TCP) with the UDP listeners whichever worker reported them, sorted by entry point. */
export function withUdp(listeners: ListenerInfo[], reports: ListenerInfo[][]): ListenerInfo[] {
  const udp = new Map<string, ListenerInfo>();
  for (const report of reports)
    for (const l of report) if (l.protocol === 'udp' && !udp.has(l.entryPoint)) udp.set(l.entryPoint, l);
  if (udp.size === 0) return listeners;
  return [...listeners.filter((l) => l.protocol !== 'udp'), ...udp.values()].sort((a, b) =>
    a.entryPoint < b.entryPoint ? -1 : a.entryPoint > b.entryPoint ? 1 : 0,
  );
}
