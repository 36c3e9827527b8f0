// The Swarm calls the provider makes (services, tasks, networks, nodes), behind a small interface: dockerode in production, a fake in tests.
import Docker from 'dockerode';
import {
  type DockerConnection,
  dockerodeClient,
  dockerodeOptions,
  REQUEST_TIMEOUT_MS,
} from '../docker/docker-client.js';
import type { EngineConnection } from '../docker/engine-link.js';

/** The part of `GET /services` the provider reads; every field optional, a gap must not throw. */
export interface SwarmService {
  ID?: string;
  Spec?: {
    Name?: string;
    /** The service's own labels: `deploy.labels` of a stack file, `--label` of `docker service create`. */
    Labels?: Record<string, string> | null;
    Mode?: { Replicated?: { Replicas?: number } | null; Global?: object | null } | null;
    EndpointSpec?: { Mode?: string } | null;
  } | null;
  /** `updating` while a rolling update (or `rollback_started` while its rollback) runs. */
  UpdateStatus?: { State?: string } | null;
  Endpoint?: {
    /** `10.0.1.2/24` on each network of the service, in VIP mode. */
    VirtualIPs?: { NetworkID?: string; Addr?: string }[] | null;
  } | null;
}

/** The part of `GET /tasks` the provider reads. */
export interface SwarmTask {
  ID?: string;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  Status?: {
    State?: string;
    /** Ports published in host mode on the task's node. */
    PortStatus?: {
      Ports?:
        | { Protocol?: string; TargetPort?: number; PublishedPort?: number; PublishMode?: string }[]
        | null;
    } | null;
  } | null;
  NetworksAttachments?: { Network?: { ID?: string }; Addresses?: string[] | null }[] | null;
}

/** One Swarm-scoped network (`GET /networks?filters={"scope":["swarm"]}`). */
export interface SwarmNetwork {
  Id?: string;
  Name?: string;
  Ingress?: boolean;
}

/** One node (`GET /nodes`): where host-mode published ports are reached. */
export interface SwarmNode {
  ID?: string;
  Status?: { Addr?: string } | null;
}

/** Everything one read of the swarm returns; the pure conversion's input. */
export interface SwarmState {
  services: SwarmService[];
  /** Tasks whose desired state is `running` (the ones starting, running, or failing to start). */
  tasks: SwarmTask[];
  networks: SwarmNetwork[];
  nodes: SwarmNode[];
}

export interface SwarmClient extends EngineConnection {
  /** Services with `label` (a key) when given, else all. */
  listServices(options: { label?: string }): Promise<SwarmService[]>;
  /** Tasks whose desired state is running. */
  listTasks(): Promise<SwarmTask[]>;
  listNetworks(): Promise<SwarmNetwork[]>;
  listNodes(): Promise<SwarmNode[]>;
}

/** dockerode behind SwarmClient: the Docker client's ping and events stream, plus the Swarm lists. */
export function dockerodeSwarmClient(connection: DockerConnection): SwarmClient {
  // Certificate files are read once, here; a read error throws.
  const options = dockerodeOptions(connection);
  const engine = dockerodeClient(connection, options);
  const requests = new Docker({ ...options, timeout: REQUEST_TIMEOUT_MS });
  return {
    endpoint: engine.endpoint,
    ping: () => engine.ping(),
    subscribe: (filters, handlers) => engine.subscribe(filters, handlers),
    async listServices({ label }) {
      return (await requests.listServices(
        label === undefined ? {} : { filters: { label: [label] } },
      )) as SwarmService[];
    },
    async listTasks() {
      return (await requests.listTasks({ filters: { 'desired-state': ['running'] } })) as SwarmTask[];
    },
    async listNetworks() {
      return (await requests.listNetworks({ filters: { scope: ['swarm'] } })) as SwarmNetwork[];
    },
    async listNodes() {
      return (await requests.listNodes()) as SwarmNode[];
    },
  };
}
