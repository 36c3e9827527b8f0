// Watches Docker (list, inspect, events) and publishes the decoder's parts; rides out daemon restarts and lost streams.
import { canonicalJson } from '@berth/protocol';
import { ErrorCodes } from '../../compiler/error-codes.js';
import type { PartsListener, Provider, ProviderPart } from '../provider-part.js';
import type { ContainerDecoder, ContainerFacts, DockerProviderSettings } from './container-facts.js';
import type { DockerClient, DockerEvent } from './docker-client.js';
import {
  type DockerConnectionState,
  type DockerProviderLogger,
  EngineLink,
  errorMessage,
  forEachLimited,
} from './engine-link.js';
import { factsFromInspect } from './inspect-facts.js';

export type { DockerConnectionState, DockerProviderLogger } from './engine-link.js';

export const DOCKER_PROVIDER = 'docker';

/** Container actions that can change what a container routes to; everything else (exec_*, attach...) is not asked for. */
export const WATCHED_CONTAINER_ACTIONS = [
  'start',
  'die',
  'stop',
  'kill',
  'destroy',
  'pause',
  'unpause',
  'health_status',
  'rename',
] as const;

export interface DockerProviderOptions {
  settings: DockerProviderSettings;
  decode: ContainerDecoder;
  client: DockerClient;
  /** Follow the events stream (default true); false reads once, like Traefik's `watch: false`. */
  watch?: boolean;
  logger?: DockerProviderLogger;
  /** Quiet time gathering a burst of events into one inspect round and one decode (default 50 ms). */
  debounceMs?: number;
  /** First and longest wait between reconnect attempts (defaults 250 ms and 10 s), doubling in between. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Ping interval while connected: a stream that died without closing (a proxy, NAT) is found this way (default 10 s). */
  pingMs?: number;
  /**
   * A full resync this often while connected (default 5 min; 0: never): the safety net for an events
   * stream that a proxy or NAT silenced without closing, which a ping over a new connection misses.
   */
  resyncMs?: number;
  /** Inspections in flight at once during a resync (default 8). */
  inspectConcurrency?: number;
}

export interface DockerProviderStatus {
  state: DockerConnectionState;
  endpoint: string;
  /** When `state` last changed, ISO 8601. */
  since: string;
  lastError: { code: string; message: string; at: string } | null;
  /** Containers currently known (the ones the decoder sees). */
  containers: number;
  /** Work done so far; lets tests and benchmarks check that events stay cheap. */
  counters: DockerProviderCounters;
}

export interface DockerProviderCounters {
  /** Container list calls. */
  lists: number;
  inspects: number;
  /** Events received; `ignored` of them named a container that cannot matter (no enable label). */
  events: number;
  ignored: number;
  decodes: number;
  /** Changes handed to listeners. */
  publishes: number;
  /** Full resyncs (start, and after every reconnect). */
  resyncs: number;
}

interface CachedContainer {
  facts: ContainerFacts;
  /** canonicalJson(facts): an event that changes nothing is found by one string comparison. */
  serial: string;
}

export class DockerProvider implements Provider {
  readonly name = DOCKER_PROVIDER;
  readonly #settings: DockerProviderSettings;
  readonly #decode: ContainerDecoder;
  readonly #client: DockerClient;
  readonly #logger: DockerProviderLogger | undefined;
  readonly #debounceMs: number;
  readonly #concurrency: number;
  /** Connection, outage, backoff and publishing: shared with the Swarm provider. */
  readonly #link: EngineLink;

  /** Facts of the containers the decoder sees, by id; replaced wholesale by a resync, patched by events. */
  readonly #cache = new Map<string, CachedContainer>();
  /**
   * Containers outside the cache whose network namespace a cached one shares (`container:<ref>`,
   * Compose's `network_mode: service:vpn`), by id: the decoder needs their address. Traefik inspects
   * them whatever their labels; without this an unlabelled VPN container leaves its app unroutable.
   */
  readonly #owners = new Map<string, CachedContainer>();
  /** Ids named by events since the last flush; true means destroyed (no inspect needed). */
  readonly #pending = new Map<string, boolean>();
  /** The decoder's last output; kept while Docker is unreachable. */
  #decoded: ProviderPart[] = [];
  readonly #counters: Omit<DockerProviderCounters, 'publishes'> = {
    lists: 0,
    inspects: 0,
    events: 0,
    ignored: 0,
    decodes: 0,
    resyncs: 0,
  };
  #debounceTimer: NodeJS.Timeout | null = null;

  constructor(options: DockerProviderOptions) {
    this.#settings = options.settings;
    this.#decode = options.decode;
    this.#client = options.client;
    this.#logger = options.logger;
    this.#debounceMs = options.debounceMs ?? 50;
    this.#concurrency = Math.max(1, options.inspectConcurrency ?? 8);
    this.#link = new EngineLink({
      provider: DOCKER_PROVIDER,
      noun: 'containers',
      client: options.client,
      eventFilters: {
        type: ['container', 'network'],
        event: [...WATCHED_CONTAINER_ACTIONS, 'connect', 'disconnect'],
      },
      hooks: {
        resync: () => this.#resync(),
        onEvent: (event) => this.#onEvent(event),
        decoded: () => this.#decoded,
      },
      resyncMs: options.resyncMs ?? 300_000,
      ...(options.watch === undefined ? {} : { watch: options.watch }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.reconnectMinMs === undefined ? {} : { reconnectMinMs: options.reconnectMinMs }),
      ...(options.reconnectMaxMs === undefined ? {} : { reconnectMaxMs: options.reconnectMaxMs }),
      ...(options.pingMs === undefined ? {} : { pingMs: options.pingMs }),
    });
  }

  /** Resolves after the first attempt, reachable or not: an absent Docker must not hold the controller back. */
  start(): Promise<void> {
    return this.#link.start();
  }

  async close(): Promise<void> {
    if (this.#debounceTimer !== null) clearTimeout(this.#debounceTimer);
    this.#debounceTimer = null;
    await this.#link.close();
  }

  onChange(listener: PartsListener): () => void {
    return this.#link.onChange(listener);
  }

  current(): ProviderPart[] {
    return this.#link.current();
  }

  status(): DockerProviderStatus {
    return {
      state: this.#link.state,
      endpoint: this.#client.endpoint,
      since: this.#link.since,
      lastError: this.#link.lastError,
      containers: this.#cache.size,
      counters: { ...this.#counters, publishes: this.#link.publishes },
    };
  }

  /** Reads every container that can matter, replaces the cache, and decodes once. */
  async #resync(): Promise<void> {
    this.#counters.resyncs++;
    const all = this.#settings.allowEmptyServices;
    const ids = new Set<string>();
    if (this.#settings.exposedByDefault) {
      this.#counters.lists++;
      for (const id of await this.#client.listContainerIds({ all })) ids.add(id);
    } else {
      // Docker ANDs label filters, so one list per enable label, merged: unlabelled containers stay in Docker.
      for (const label of this.#enableLabels()) {
        this.#counters.lists++;
        for (const id of await this.#client.listContainerIds({ all, label })) ids.add(id);
      }
    }
    const fresh = new Map<string, CachedContainer>();
    await forEachLimited([...ids].sort(), this.#concurrency, async (id) => {
      this.#counters.inspects++;
      const info = await this.#client.inspectContainer(id);
      if (info === null) return;
      const facts = factsFromInspect(info);
      if (this.#keep(facts)) fresh.set(facts.id || id, { facts, serial: canonicalJson(facts) });
    });
    this.#cache.clear();
    for (const [id, entry] of fresh) this.#cache.set(id, entry);
    this.#owners.clear();
    await this.#resolveOwners(new Set());
    this.#redecode();
  }

  #onEvent(event: DockerEvent): void {
    this.#counters.events++;
    const action = (event.Action ?? event.status ?? '').split(':')[0]?.trim() ?? '';
    const attributes = event.Actor?.Attributes ?? {};
    let id: string;
    if (event.Type === 'network') {
      if (action !== 'connect' && action !== 'disconnect') return;
      id = attributes['container'] ?? '';
      // A container joins its networks before it starts; its start event brings it in.
      if (id === '' || (!this.#watched(id) && !this.#settings.exposedByDefault)) {
        this.#counters.ignored++;
        return;
      }
    } else {
      id = event.Actor?.ID ?? event.id ?? '';
      if (id === '') return;
      // Container events carry the container's labels: without an enable label it cannot matter, so no inspect.
      if (!this.#watched(id) && !this.#settings.exposedByDefault && !this.#hasEnableLabel(attributes)) {
        this.#counters.ignored++;
        return;
      }
    }
    const destroyed = event.Type !== 'network' && action === 'destroy';
    this.#pending.set(id, destroyed || (this.#pending.get(id) ?? false));
    this.#scheduleFlush();
  }

  /** The first event of a burst arms the timer; the rest ride along into one flush. */
  #scheduleFlush(): void {
    if (this.#debounceTimer !== null || this.#link.closed) return;
    this.#debounceTimer = setTimeout(() => {
      this.#debounceTimer = null;
      void this.#link.enqueue(() => this.#flush());
    }, this.#debounceMs);
  }

  /** Inspects only the containers the burst named; decodes only if some fact changed. */
  async #flush(): Promise<void> {
    if (this.#link.closed || this.#pending.size === 0) return;
    const generation = this.#link.generation;
    const batch = [...this.#pending];
    this.#pending.clear();
    let changed = false;
    /** Containers whose facts changed: the owner of a shared network namespace is read again for them. */
    const touched = new Set<string>();
    try {
      await forEachLimited(batch, this.#concurrency, async ([id, destroyed]) => {
        const info = destroyed ? null : await this.#inspect(id);
        if (generation !== this.#link.generation) return;
        const facts = info === null ? null : factsFromInspect(info);
        if (facts === null || !this.#keep(facts)) {
          if (this.#cache.delete(id)) changed = true;
          const owner = this.#owners.get(id);
          if (owner !== undefined) {
            if (facts === null) this.#owners.delete(id);
            else this.#owners.set(id, { facts, serial: canonicalJson(facts) });
            if (facts === null || owner.serial !== canonicalJson(facts)) changed = true;
          }
          return;
        }
        const serial = canonicalJson(facts);
        if (this.#cache.get(id)?.serial === serial) return;
        this.#cache.set(id, { facts, serial });
        this.#owners.delete(id);
        touched.add(id);
        changed = true;
      });
      if (generation === this.#link.generation && (await this.#resolveOwners(touched))) changed = true;
    } catch (err) {
      // Docker went away mid-burst: the reconnect's resync reads everything again, these included.
      if (generation === this.#link.generation)
        this.#link.fail(ErrorCodes.DOCKER_INSPECT, `cannot inspect containers: ${errorMessage(err)}`);
      return;
    }
    if (!changed || generation !== this.#link.generation) return;
    this.#redecode();
    this.#link.publish();
  }

  async #inspect(id: string) {
    this.#counters.inspects++;
    return this.#client.inspectContainer(id);
  }

  /** A container the provider follows: one it routes, or the owner of a network namespace one of those shares. */
  #watched(id: string): boolean {
    return this.#cache.has(id) || this.#owners.has(id);
  }

  /**
   * Reads the owners of the network namespaces cached containers share (`container:<ref>`) that are
   * not cached themselves: missing ones, and those of `touched` containers again (their owner may
   * have been replaced). Chains are followed a few hops; owners no longer referenced are dropped.
   * True when the owners changed.
   */
  async #resolveOwners(touched: ReadonlySet<string>): Promise<boolean> {
    let changed = false;
    const needed = new Set<string>();
    let frontier = [...this.#cache.values()].map((c) => ({ facts: c.facts, fresh: touched.has(c.facts.id) }));
    for (let hop = 0; hop < MAX_NETNS_HOPS && frontier.length > 0; hop++) {
      const next: typeof frontier = [];
      for (const { facts, fresh } of frontier) {
        if (!facts.networkMode.startsWith('container:')) continue;
        const ref = facts.networkMode.slice('container:'.length);
        if (ref === '' || [...this.#cache.values()].some((c) => matchesRef(c.facts, ref))) continue;
        let owner = [...this.#owners.values()].find((o) => matchesRef(o.facts, ref));
        if (owner === undefined || fresh) {
          const info = await this.#inspect(ref);
          const facts = info === null ? null : factsFromInspect(info);
          if (facts !== null && facts.id !== '') {
            const serial = canonicalJson(facts);
            if (this.#owners.get(facts.id)?.serial !== serial) changed = true;
            owner = { facts, serial };
            this.#owners.set(facts.id, owner);
          }
        }
        if (owner === undefined || needed.has(owner.facts.id)) continue;
        needed.add(owner.facts.id);
        next.push({ facts: owner.facts, fresh });
      }
      frontier = next;
    }
    for (const id of [...this.#owners.keys()]) {
      if (needed.has(id)) continue;
      this.#owners.delete(id);
      changed = true;
    }
    return changed;
  }

  #redecode(): void {
    // Owners ride along for their address; the decoder routes them only if their own labels say so.
    const facts = [...this.#cache.values(), ...this.#owners.values()]
      .map((c) => c.facts)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1));
    this.#counters.decodes++;
    try {
      this.#decoded = this.#decode(facts, this.#settings);
    } catch (err) {
      this.#logger?.error(
        { code: ErrorCodes.DOCKER_DECODE, err: errorMessage(err) },
        'the Docker label decoder failed; keeping the previous Docker configuration',
      );
    }
  }

  #enableLabels(): string[] {
    return this.#settings.prefixes.map((prefix) => `${prefix}.enable`);
  }

  /** Same test as the Docker-side list filter (exact key), so events and resyncs agree on what is watched. */
  #hasEnableLabel(labels: Record<string, string>): boolean {
    return this.#enableLabels().some((key) => Object.hasOwn(labels, key));
  }

  /** The containers a resync would list: running ones (all with allowEmptyServices), labelled ones unless exposedByDefault. */
  #keep(facts: ContainerFacts): boolean {
    const live = facts.state === 'running' || facts.state === 'paused' || facts.state === 'restarting';
    if (!live && !this.#settings.allowEmptyServices) return false;
    return this.#settings.exposedByDefault || this.#hasEnableLabel(facts.labels);
  }
}

/** How many `container:` links are followed from a routed container (as the decoder does). */
const MAX_NETNS_HOPS = 4;

/** The decoder's test for `container:<ref>`: full id, name, or an id prefix of 12 or more. */
function matchesRef(facts: ContainerFacts, ref: string): boolean {
  return facts.id === ref || facts.name === ref || (ref.length >= 12 && facts.id.startsWith(ref));
}
