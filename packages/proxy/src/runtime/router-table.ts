// One entry point's routers in priority order, indexed by host so a lookup skips unrelated routers.
import type { RequestView } from '@berth/config';
import type { RouterEntry } from './types.js';

/** A router plus the hosts its rule is bound to (`null`: any host), as compiled from the rule. */
export interface HostedEntry {
  entry: RouterEntry;
  hosts: readonly string[] | null;
}

interface Ranked {
  rank: number;
  entry: RouterEntry;
}

/**
 * Lookups merge the host's buckets with the host-less list by rank (position in priority order),
 * so the first match is exactly the one a linear scan of `entries` would find.
 */
export class RouterTable {
  /** Highest priority first. */
  readonly entries: readonly RouterEntry[];
  readonly #exact = new Map<string, Ranked[]>();
  /** Keyed by the suffix after `*.`. */
  readonly #wildcard = new Map<string, Ranked[]>();
  readonly #anyHost: Ranked[] = [];

  /** `sorted` must already be in priority order. */
  constructor(sorted: readonly HostedEntry[]) {
    this.entries = sorted.map((h) => h.entry);
    sorted.forEach(({ entry, hosts }, rank) => {
      const ranked = { rank, entry };
      if (hosts === null) {
        this.#anyHost.push(ranked);
        return;
      }
      for (const host of new Set(hosts)) {
        const [bucket, key] = host.startsWith('*.') ? [this.#wildcard, host.slice(2)] : [this.#exact, host];
        const list = bucket.get(key);
        if (list) list.push(ranked);
        else bucket.set(key, [ranked]);
      }
    });
  }

  /** The highest-priority router whose rule matches, or `undefined`. */
  find(req: RequestView): RouterEntry | undefined {
    const lists = this.#candidateLists(req.host);
    if (lists.length <= 1) {
      for (const { entry } of lists[0] ?? []) if (entry.match(req)) return entry;
      return undefined;
    }
    const cursor = lists.map(() => 0);
    for (;;) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < lists.length; i++) {
        const head = lists[i]![cursor[i]!];
        if (head !== undefined && head.rank < bestRank) {
          best = i;
          bestRank = head.rank;
        }
      }
      if (best < 0) return undefined;
      const { entry } = lists[best]![cursor[best]!]!;
      cursor[best]!++;
      if (entry.match(req)) return entry;
    }
  }

  /**
   * Buckets that may hold a match: the exact host, every wildcard whose suffix ends the host
   * (the matcher decides how many labels `*` spans), and the host-less routers. A router bound
   * to several of these hosts appears in several lists; it is tested again at worst, never missed.
   */
  #candidateLists(requestHost: string): (readonly Ranked[])[] {
    // Host matchers treat `example.com.` as `example.com`; the index must file it the same way.
    const host = requestHost.endsWith('.') ? requestHost.slice(0, -1) : requestHost;
    const lists: (readonly Ranked[])[] = [this.#anyHost];
    const exact = this.#exact.get(host);
    if (exact) lists.push(exact);
    if (this.#wildcard.size > 0) {
      // The host itself is tried too, in case a matcher lets `*.` span zero labels.
      let suffix = host;
      for (;;) {
        const list = this.#wildcard.get(suffix);
        if (list) lists.push(list);
        const dot = suffix.indexOf('.');
        if (dot < 0) break;
        suffix = suffix.slice(dot + 1);
      }
    }
    return lists.filter((list) => list.length > 0);
  }
}
