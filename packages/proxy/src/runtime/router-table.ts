// One entry point's routers in priority order, indexed by host (TLS and plain apart) so a lookup skips unrelated routers.
import type { RequestView } from '@berth/config';
import type { RouterEntry } from './types.js';

/** A router plus what its compiled rule says about the hosts it can match. */
export interface HostedEntry {
  entry: RouterEntry;
  /** Hosts the rule is bound to (`*.` wildcards allowed), or `null`: not bound to exact hosts. */
  hosts: readonly string[] | null;
  /** When `hosts` is null: domain suffixes (`.example.com`) every match ends with, or null/absent. */
  hostSuffixes?: readonly string[] | null | undefined;
}

interface Ranked {
  rank: number;
  entry: RouterEntry;
}

const EMPTY: readonly Ranked[] = [];

/**
 * An entry point's routers, in two indexes: routers with `tls` answer only requests that came
 * over TLS, the others only plain ones (as Traefik). A plain request never looks at a TLS router.
 */
export class RouterTable {
  /** Highest priority first, TLS and plain routers together. */
  readonly entries: readonly RouterEntry[];
  readonly #plain: HostIndex;
  readonly #tls: HostIndex;

  /** `sorted` must already be in priority order. */
  constructor(sorted: readonly HostedEntry[]) {
    this.entries = sorted.map((h) => h.entry);
    this.#plain = new HostIndex(sorted.filter((h) => h.entry.tls !== true));
    this.#tls = new HostIndex(sorted.filter((h) => h.entry.tls === true));
  }

  /** The highest-priority plain router whose rule matches, or `undefined`. */
  find(req: RequestView): RouterEntry | undefined {
    return this.#plain.find(req);
  }

  /** The same among the routers that serve TLS. */
  findTls(req: RequestView): RouterEntry | undefined {
    return this.#tls.find(req);
  }
}

/**
 * Three tiers: exact host (a Map), domain suffix (a Map walked over the request host's
 * dot-suffixes; `*.example.com` files under `.example.com` too) and host-less. Each tier keeps
 * its routers by rank (position in priority order) and a lookup merges the candidates by rank,
 * so the first match is exactly the one a linear scan of the routers would find, while routers
 * bound to other hosts are never looked at.
 */
class HostIndex {
  readonly #exact = new Map<string, Ranked[]>();
  /** Keyed by suffix with its leading dot. */
  readonly #suffix = new Map<string, Ranked[]>();
  readonly #anyHost: Ranked[] = [];
  /**
   * Per exact host: its own routers merged with every suffix bucket the host falls under,
   * computed once so the common lookup merges just two lists.
   */
  readonly #exactMerged = new Map<string, readonly Ranked[]>();

  /** `sorted` must already be in priority order. */
  constructor(sorted: readonly HostedEntry[]) {
    sorted.forEach(({ entry, hosts, hostSuffixes }, rank) => {
      const ranked = { rank, entry };
      if (hosts !== null) {
        for (const host of new Set(hosts)) {
          if (host.startsWith('*.')) add(this.#suffix, host.slice(1), ranked);
          else add(this.#exact, trimDot(host), ranked);
        }
      } else if (hostSuffixes) {
        for (const suffix of new Set(hostSuffixes)) {
          add(this.#suffix, suffix.startsWith('.') ? suffix : `.${suffix}`, ranked);
        }
      } else {
        this.#anyHost.push(ranked);
      }
    });
    for (const [host, own] of this.#exact) {
      const lists = this.#suffixLists(host);
      this.#exactMerged.set(host, lists.length === 0 ? own : mergeByRank([own, ...lists]));
    }
  }

  /** The highest-priority router whose rule matches, or `undefined`. */
  find(req: RequestView): RouterEntry | undefined {
    let host = req.host;
    // Host matchers treat `example.com.` as `example.com`; the index must file it the same way.
    if (host.endsWith('.')) host = host.slice(0, -1);
    let hosted = this.#exactMerged.get(host);
    if (hosted === undefined) {
      if (this.#suffix.size === 0) hosted = EMPTY;
      else {
        const lists = this.#suffixLists(host);
        hosted = lists.length === 0 ? EMPTY : lists.length === 1 ? lists[0]! : mergeByRank(lists);
      }
    }
    return firstMatch(hosted, this.#anyHost, req);
  }

  /**
   * Suffix buckets the host falls under, longest suffix first: `.a.b.c`, `.b.c`, `.c`. The host
   * itself with a dot is tried too, so `*.b.c` may also match `b.c` if a matcher lets `*` span
   * zero labels; the matcher decides, the index only must not miss.
   */
  #suffixLists(host: string): Ranked[][] {
    const lists: Ranked[][] = [];
    if (this.#suffix.size === 0 || host === '') return lists;
    let start = -1;
    for (let i = 0; i < 128; i++) {
      const list = this.#suffix.get(start < 0 ? `.${host}` : host.slice(start));
      if (list) lists.push(list);
      const dot = host.indexOf('.', start + 1);
      if (dot < 0) break;
      start = dot;
    }
    return lists;
  }
}

/** Merges two rank-sorted lists on the fly and returns the first entry whose rule matches. */
function firstMatch(a: readonly Ranked[], b: readonly Ranked[], req: RequestView): RouterEntry | undefined {
  let i = 0;
  let j = 0;
  const na = a.length;
  const nb = b.length;
  while (i < na || j < nb) {
    let next: Ranked;
    if (j >= nb || (i < na && a[i]!.rank < b[j]!.rank)) next = a[i++]!;
    else next = b[j++]!;
    if (next.entry.match(req)) return next.entry;
  }
  return undefined;
}

/** One rank-sorted list from several, each router once (a router may sit in several buckets). */
function mergeByRank(lists: readonly (readonly Ranked[])[]): Ranked[] {
  const seen = new Set<number>();
  const out: Ranked[] = [];
  for (const list of lists) {
    for (const ranked of list) {
      if (seen.has(ranked.rank)) continue;
      seen.add(ranked.rank);
      out.push(ranked);
    }
  }
  return out.sort((x, y) => x.rank - y.rank);
}

function add(map: Map<string, Ranked[]>, key: string, ranked: Ranked): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [ranked]);
  else if (list[list.length - 1] !== ranked) list.push(ranked);
}

function trimDot(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}
