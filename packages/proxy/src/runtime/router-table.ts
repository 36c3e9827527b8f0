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
  /**
   * Position in priority order, as a number that only has to sort right: an entry inserted by
   * `update` takes the midpoint of its neighbours', so no other entry's rank changes.
   */
  rank: number;
  entry: RouterEntry;
  hosted: HostedEntry;
}

const EMPTY: readonly Ranked[] = [];

/**
 * An entry point's routers, in two indexes: routers with `tls` answer only requests that came
 * over TLS, the others only plain ones (as Traefik). A plain request never looks at a TLS router.
 *
 * `update` changes a few routers in place (a delta's): the cost is that of the routers changed,
 * not of the table. A table is shared by the runtimes before and after such an update, so the
 * data plane calls it only when it swaps them.
 */
export class RouterTable {
  /** Every entry, priority order, TLS and plain together. */
  readonly #ranked: Ranked[];
  /**
   * Router name → its entry, or its entries when it names this entry point more than once (an
   * array only then: one per router is 10,000 fewer arrays to allocate).
   */
  readonly #byName = new Map<string, Ranked | Ranked[]>();
  readonly #plain: HostIndex;
  readonly #tls: HostIndex;
  #entries: readonly RouterEntry[] | undefined;

  /** `sorted` must already be in priority order. */
  constructor(sorted: readonly HostedEntry[]) {
    this.#ranked = sorted.map((hosted, rank) => ({ rank, entry: hosted.entry, hosted }));
    for (const r of this.#ranked) addByName(this.#byName, r);
    this.#plain = new HostIndex(this.#ranked.filter((r) => r.entry.tls !== true));
    this.#tls = new HostIndex(this.#ranked.filter((r) => r.entry.tls === true));
  }

  /** Highest priority first, TLS and plain routers together. */
  get entries(): readonly RouterEntry[] {
    this.#entries ??= this.#ranked.map((r) => r.entry);
    return this.#entries;
  }

  /** The hosted entries, priority order (what a build compares to decide whether to keep the table). */
  hosted(): HostedEntry[] {
    return this.#ranked.map((r) => r.hosted);
  }

  get size(): number {
    return this.#ranked.length;
  }

  /** True when router `name` has an entry here. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /**
   * Removes every entry of the routers in `removed`, then inserts `added` (each at its place in
   * priority order, `byPriority`). The table then routes as `new RouterTable` of the resulting
   * list would.
   */
  update(
    removed: Iterable<string>,
    added: readonly HostedEntry[],
    byPriority: (a: HostedEntry, b: HostedEntry) => number,
  ): void {
    this.#entries = undefined;
    for (const name of removed) {
      const found = this.#byName.get(name);
      if (found === undefined) continue;
      this.#byName.delete(name);
      for (const r of Array.isArray(found) ? found : [found]) {
        const at = rankIndex(this.#ranked, r.rank);
        if (at >= 0) this.#ranked.splice(at, 1);
        (r.entry.tls === true ? this.#tls : this.#plain).remove(r);
      }
    }
    for (const hosted of added) {
      // After every entry that sorts before or equal, as a stable sort of the list would place it.
      let lo = 0;
      let hi = this.#ranked.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (byPriority(this.#ranked[mid]!.hosted, hosted) <= 0) lo = mid + 1;
        else hi = mid;
      }
      const before = lo > 0 ? this.#ranked[lo - 1]!.rank : undefined;
      const after = lo < this.#ranked.length ? this.#ranked[lo]!.rank : undefined;
      let rank =
        before === undefined
          ? after === undefined
            ? 0
            : after - 1
          : after === undefined
            ? before + 1
            : before + (after - before) / 2;
      if (rank === before || rank === after) {
        // No number left between the neighbours: renumber all, in place (every index keeps its order).
        this.#ranked.forEach((r, i) => {
          r.rank = i < lo ? i : i + 1;
        });
        rank = lo;
      }
      const r: Ranked = { rank, entry: hosted.entry, hosted };
      this.#ranked.splice(lo, 0, r);
      addByName(this.#byName, r);
      (r.entry.tls === true ? this.#tls : this.#plain).insert(r);
    }
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

function addByName(map: Map<string, Ranked | Ranked[]>, r: Ranked): void {
  const own = map.get(r.entry.name);
  if (own === undefined) map.set(r.entry.name, r);
  else if (Array.isArray(own)) own.push(r);
  else map.set(r.entry.name, [own, r]);
}

/** Index of the entry of rank `rank` in a rank-sorted list; -1 when absent. */
function rankIndex(list: readonly Ranked[], rank: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.rank < rank) lo = mid + 1;
    else hi = mid;
  }
  return lo < list.length && list[lo]!.rank === rank ? lo : -1;
}

/** Where an entry of rank `rank` goes in a rank-sorted list. */
function insertionIndex(list: readonly Ranked[], rank: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.rank < rank) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
   * Per exact host under some suffix bucket: its own routers merged with every suffix bucket the
   * host falls under, computed once so the common lookup merges just two lists. A host under no
   * suffix (the common case) is looked up in `#exact` itself.
   */
  readonly #exactMerged = new Map<string, readonly Ranked[]>();

  /** `sorted` must already be in rank order. */
  constructor(sorted: readonly Ranked[]) {
    // As keysOf files them, without its arrays: this runs over 10,000 routers.
    for (const ranked of sorted) {
      const { hosts, hostSuffixes } = ranked.hosted;
      if (hosts !== null) {
        for (const host of hosts.length === 1 ? hosts : new Set(hosts)) {
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
    }
    if (this.#suffix.size > 0) for (const host of this.#exact.keys()) this.#merge(host);
  }

  insert(r: Ranked): void {
    if (r.hosted.hosts === null && !r.hosted.hostSuffixes) {
      this.#anyHost.splice(insertionIndex(this.#anyHost, r.rank), 0, r);
      return;
    }
    this.#change(r, (list) => {
      const at = insertionIndex(list, r.rank);
      // A router listing one host twice is filed once.
      if (list[at] !== r) list.splice(at, 0, r);
    });
  }

  remove(r: Ranked): void {
    if (r.hosted.hosts === null && !r.hosted.hostSuffixes) {
      const at = rankIndex(this.#anyHost, r.rank);
      if (at >= 0) this.#anyHost.splice(at, 1);
      return;
    }
    this.#change(r, (list) => {
      const at = rankIndex(list, r.rank);
      if (at >= 0) list.splice(at, 1);
    });
  }

  /** Applies `edit` to each bucket of `r`, then refreshes the merged lists that depend on them. */
  #change(r: Ranked, edit: (list: Ranked[]) => void): void {
    const hosts = new Set<string>();
    const suffixes = new Set<string>();
    for (const [tier, key] of keysOf(r.hosted)) {
      const map = tier === 'exact' ? this.#exact : this.#suffix;
      let list = map.get(key);
      if (list === undefined) {
        list = [];
        map.set(key, list);
      }
      edit(list);
      if (list.length === 0) map.delete(key);
      (tier === 'exact' ? hosts : suffixes).add(key);
    }
    for (const host of hosts) this.#merge(host);
    if (suffixes.size === 0) return;
    // A suffix bucket changed: every exact host under it merges it (rare: a scan of the hosts).
    for (const host of this.#exact.keys()) {
      const dotted = `.${host}`;
      for (const suffix of suffixes) {
        if (dotted.endsWith(suffix)) {
          this.#merge(host);
          break;
        }
      }
    }
  }

  #merge(host: string): void {
    const own = this.#exact.get(host);
    const lists = own === undefined ? [] : this.#suffixLists(host);
    if (own === undefined || lists.length === 0) this.#exactMerged.delete(host);
    else this.#exactMerged.set(host, mergeByRank([own, ...lists]));
  }

  /** The highest-priority router whose rule matches, or `undefined`. */
  find(req: RequestView): RouterEntry | undefined {
    let host = req.host;
    // Host matchers treat `example.com.` as `example.com`; the index must file it the same way.
    if (host.endsWith('.')) host = host.slice(0, -1);
    let hosted = this.#exactMerged.get(host) ?? this.#exact.get(host);
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

/** The buckets a router is filed under: exact hosts, and suffixes (wildcards and hostSuffixes). */
function keysOf(hosted: HostedEntry): [tier: 'exact' | 'suffix', key: string][] {
  const out: [tier: 'exact' | 'suffix', key: string][] = [];
  if (hosted.hosts !== null) {
    for (const host of new Set(hosted.hosts)) {
      if (host.startsWith('*.')) out.push(['suffix', host.slice(1)]);
      else out.push(['exact', trimDot(host)]);
    }
  } else if (hosted.hostSuffixes) {
    for (const suffix of new Set(hosted.hostSuffixes)) {
      out.push(['suffix', suffix.startsWith('.') ? suffix : `.${suffix}`]);
    }
  }
  return out;
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
