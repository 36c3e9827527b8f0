// Watches a Swarm manager (services, tasks; polled, and read again on events) and publishes the decoder's parts.
import { canonicalJson } from '@berth/protocol';
import { ErrorCodes } from '../../compiler/error-codes.js';
import type { DockerEvent } from '../docker/docker-client.js';
import {
  type DockerConnectionState,
  type DockerProviderLogger,
  EngineLink,
  errorMessage,
} from '../docker/engine-link.js';
import type { PartsListener, Provider, ProviderPart } from '../provider-part.js';
import { SWARM_PROVIDER, type SwarmDecoder } from './decode-swarm.js';
import type { SwarmClient, SwarmState } from './swarm-client.js';
import { isServiceUpdating, isTaskStarting } from './swarm-facts.js';
import type { SwarmProviderSettings } from './swarm-settings.js';

/** Container actions of a task that change whether it gets traffic; `kill` comes first when Swarm stops one. */
const TASK_CONTAINER_ACTIONS = ['start', 'die', 'kill', 'stop', 'destroy', 'health_status'] as const;

export interface SwarmProviderOptions {
  settings: SwarmProviderSettings;
  decode: SwarmDecoder;
  client: SwarmClient;
  /** Poll and follow events (default true); false reads once, like Traefik's `watch: false`. */
  watch?: boolean;
  logger?: DockerProviderLogger;
  /** Quiet time gathering a burst of events into one read (default 50 ms). */
  debounceMs?: number;
  /**
   * While a task is on its way to `running`, the next read comes this soon (default 250 ms), at most
   * `settleReads` times in a row (default 40): Swarm marks a task running a moment after its
   * container's start event, and no event says so.
   */
  settleMs?: number;
  settleReads?: number;
  /**
   * While a service's rolling update runs, reads come every `settleMs` too, at most `updateReads`
   * times in a row (default 1200: 5 minutes). Swarm marks the task it replaces for shutdown with no
   * event, then waits 2 s before it stops the container (its own grace for load balancers): a read
   * within that time takes the task out before it stops answering.
   */
  updateReads?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  pingMs?: number;
}

export interface SwarmProviderStatus {
  state: DockerConnectionState;
  endpoint: string;
  /** When `state` last changed, ISO 8601. */
  since: string;
  lastError: { code: string; message: string; at: string } | null;
  /** Services and running-or-starting tasks in the last read. */
  services: number;
  tasks: number;
  counters: SwarmProviderCounters;
}

export interface SwarmProviderCounters {
  /** Full reads of services, tasks, networks and nodes. */
  reads: number;
  /** Events received; `ignored` of them were about containers of no Swarm task. */
  events: number;
  ignored: number;
  decodes: number;
  publishes: number;
}

export class SwarmProvider implements Provider {
  readonly name = SWARM_PROVIDER;
  readonly #settings: SwarmProviderSettings;
  readonly #decode: SwarmDecoder;
  readonly #client: SwarmClient;
  readonly #logger: DockerProviderLogger | undefined;
  readonly #debounceMs: number;
  readonly #settleMs: number;
  readonly #settleReads: number;
  readonly #updateReads: number;
  readonly #link: EngineLink;

  #state: SwarmState = { services: [], tasks: [], networks: [], nodes: [] };
  /** canonicalJson of the last state decoded: a read that changes nothing decodes nothing. */
  #serial = '';
  #decoded: ProviderPart[] = [];
  readonly #counters: Omit<SwarmProviderCounters, 'publishes'> = {
    reads: 0,
    events: 0,
    ignored: 0,
    decodes: 0,
  };
  #debounceTimer: NodeJS.Timeout | null = null;
  #settleTimer: NodeJS.Timeout | null = null;
  #settling = 0;

  constructor(options: SwarmProviderOptions) {
    this.#settings = options.settings;
    this.#decode = options.decode;
    this.#client = options.client;
    this.#logger = options.logger;
    this.#debounceMs = options.debounceMs ?? 50;
    this.#settleMs = options.settleMs ?? 250;
    this.#settleReads = options.settleReads ?? 40;
    this.#updateReads = options.updateReads ?? 1200;
    this.#link = new EngineLink({
      provider: SWARM_PROVIDER,
      noun: 'services',
      client: options.client,
      eventFilters: {
        type: ['service', 'container'],
        event: ['create', 'update', 'remove', ...TASK_CONTAINER_ACTIONS],
      },
      hooks: {
        resync: () => this.#read(),
        onEvent: (event) => this.#onEvent(event),
        decoded: () => this.#decoded,
        classify: (err) => this.#classify(err),
      },
      // Traefik's only mechanism, kept as the safety net under the events.
      resyncMs: Math.max(1, options.settings.refreshSeconds) * 1000,
      ...(options.watch === undefined ? {} : { watch: options.watch }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.reconnectMinMs === undefined ? {} : { reconnectMinMs: options.reconnectMinMs }),
      ...(options.reconnectMaxMs === undefined ? {} : { reconnectMaxMs: options.reconnectMaxMs }),
      ...(options.pingMs === undefined ? {} : { pingMs: options.pingMs }),
    });
  }

  /** Resolves after the first attempt, reachable or not. */
  start(): Promise<void> {
    return this.#link.start();
  }

  async close(): Promise<void> {
    for (const timer of [this.#debounceTimer, this.#settleTimer]) if (timer !== null) clearTimeout(timer);
    this.#debounceTimer = this.#settleTimer = null;
    await this.#link.close();
  }

  onChange(listener: PartsListener): () => void {
    return this.#link.onChange(listener);
  }

  current(): ProviderPart[] {
    return this.#link.current();
  }

  status(): SwarmProviderStatus {
    return {
      state: this.#link.state,
      endpoint: this.#client.endpoint,
      since: this.#link.since,
      lastError: this.#link.lastError,
      services: this.#state.services.length,
      tasks: this.#state.tasks.length,
      counters: { ...this.#counters, publishes: this.#link.publishes },
    };
  }

  /**
   * One read of everything (four list calls; a swarm's services and tasks are few next to a host's
   * containers), decoded only when something changed.
   */
  async #read(): Promise<void> {
    this.#counters.reads++;
    const services = this.#settings.exposedByDefault
      ? await this.#client.listServices({})
      : await this.#labelled();
    const [tasks, networks, nodes] = await Promise.all([
      this.#client.listTasks(),
      this.#client.listNetworks(),
      this.#client.listNodes(),
    ]);
    const ids = new Set(services.map((s) => s.ID));
    const state: SwarmState = {
      services: [...services].sort((a, b) => byCodeUnit(a.ID ?? '', b.ID ?? '')),
      tasks: tasks.filter((t) => ids.has(t.ServiceID)).sort((a, b) => byCodeUnit(a.ID ?? '', b.ID ?? '')),
      networks: [...networks].sort((a, b) => byCodeUnit(a.Id ?? '', b.Id ?? '')),
      nodes: [...nodes].sort((a, b) => byCodeUnit(a.ID ?? '', b.ID ?? '')),
    };
    this.#scheduleSettle(state);
    const serial = canonicalJson(pick(state));
    if (serial === this.#serial) return;
    this.#serial = serial;
    this.#state = state;
    this.#counters.decodes++;
    try {
      this.#decoded = this.#decode(state, this.#settings);
    } catch (err) {
      this.#logger?.error(
        { code: ErrorCodes.DOCKER_DECODE, err: errorMessage(err) },
        'the Swarm label decoder failed; keeping the previous Swarm configuration',
      );
    }
  }

  /** Docker ANDs label filters, so one list per enable label, merged: unlabelled services stay in Docker. */
  async #labelled() {
    const byId = new Map<string, Awaited<ReturnType<SwarmClient['listServices']>>[number]>();
    for (const prefix of this.#settings.prefixes) {
      for (const s of await this.#client.listServices({ label: `${prefix}.enable` })) byId.set(s.ID ?? '', s);
    }
    return [...byId.values()];
  }

  /** Docker answers 503 to Swarm calls on a daemon that is no manager: a setup problem, said as such. */
  #classify(err: unknown): { code: string; message: string } | undefined {
    const status = (err as { statusCode?: unknown } | null)?.statusCode;
    if (status !== 503 && !/not a swarm manager|not part of a swarm/i.test(errorMessage(err)))
      return undefined;
    return {
      code: ErrorCodes.SWARM_LIST,
      message: `Docker at ${this.#client.endpoint} is not a Swarm manager (${errorMessage(err).trim()}); point providers.swarm.endpoint at a manager, or run docker swarm init`,
    };
  }

  #onEvent(event: DockerEvent): void {
    this.#counters.events++;
    if (event.Type === 'container') {
      // Only containers of Swarm tasks matter here; their events carry the task's labels.
      const attributes = event.Actor?.Attributes ?? {};
      if (attributes['com.docker.swarm.service.id'] === undefined) {
        this.#counters.ignored++;
        return;
      }
    } else if (event.Type !== 'service') {
      this.#counters.ignored++;
      return;
    }
    if (this.#debounceTimer !== null || this.#link.closed) return;
    this.#debounceTimer = setTimeout(() => {
      this.#debounceTimer = null;
      void this.#link.refresh(ErrorCodes.SWARM_LIST);
    }, this.#debounceMs);
  }

  /** A task on its way to running, or a rolling update: read again soon, a bounded number of times in a row. */
  #scheduleSettle(state: SwarmState): void {
    const updating = state.services.some(isServiceUpdating);
    if (!updating && !state.tasks.some(isTaskStarting)) {
      this.#settling = 0;
      return;
    }
    const limit = updating ? this.#updateReads : this.#settleReads;
    if (this.#settleTimer !== null || this.#settling >= limit || this.#link.closed) return;
    this.#settling++;
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = null;
      void this.#link.refresh(ErrorCodes.SWARM_LIST);
    }, this.#settleMs);
    this.#settleTimer.unref();
  }
}

/** The fields the conversion reads: a change elsewhere (timestamps, versions) is not a change. */
function pick(state: SwarmState): unknown {
  return {
    services: state.services.map((s) => ({
      ID: s.ID,
      Name: s.Spec?.Name,
      Labels: s.Spec?.Labels,
      Mode: s.Spec?.EndpointSpec?.Mode,
      VirtualIPs: s.Endpoint?.VirtualIPs,
    })),
    tasks: state.tasks.map((t) => ({
      ID: t.ID,
      ServiceID: t.ServiceID,
      NodeID: t.NodeID,
      DesiredState: t.DesiredState,
      State: t.Status?.State,
      Ports: t.Status?.PortStatus?.Ports,
      NetworksAttachments: t.NetworksAttachments?.map((a) => ({ ID: a.Network?.ID, Addresses: a.Addresses })),
    })),
    networks: state.networks.map((n) => ({ Id: n.Id, Name: n.Name, Ingress: n.Ingress })),
    nodes: state.nodes.map((n) => ({ ID: n.ID, Addr: n.Status?.Addr })),
  };
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
