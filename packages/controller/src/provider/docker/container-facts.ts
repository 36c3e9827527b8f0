// The contract between the Docker provider's I/O (dockerode: list, inspect, events) and its pure
// label decoder: what the provider learns about each container, and what the decoder makes of them.
import type { ProviderPart } from '../provider-part.js';

/** One network a container is attached to. */
export interface ContainerNetwork {
  /** Network name as Docker reports it (`myproject_default`, `bridge`). */
  name: string;
  /** IPv4 address on that network; empty when none. */
  ipv4: string;
  /** IPv6 address on that network; empty when none. */
  ipv6: string;
}

/** What the provider knows about one container (or one Swarm task), as plain data. */
export interface ContainerFacts {
  /** Full container id. */
  id: string;
  /** Name without Docker's leading `/`. */
  name: string;
  /** Every label of the container, keys as written (the decoder matches them case-insensitively). */
  labels: Record<string, string>;
  /** Docker's state: `running`, `paused`, `exited`, `created`, `restarting`, `dead`, `removing`. */
  state: string;
  /** Health check result, or null when the container has no health check. */
  health: 'healthy' | 'unhealthy' | 'starting' | null;
  /** `bridge`, `host`, `none`, `container:<id>`, or a network name. */
  networkMode: string;
  networks: ContainerNetwork[];
  /** Ports the image or container exposes (`EXPOSE`), TCP and UDP, ascending, without duplicates. */
  exposedPorts: { port: number; protocol: 'tcp' | 'udp' }[];
  /** Ports published on the host, when the provider uses host ports (`useBindPortIP`). */
  publishedPorts: { containerPort: number; hostIp: string; hostPort: number; protocol: 'tcp' | 'udp' }[];
  /** `com.docker.compose.project` / `com.docker.compose.service`, when Compose created it. */
  compose?: { project: string; service: string };
  /** Swarm service and stack (`com.docker.stack.namespace`), when the container is a Swarm task. */
  swarm?: { serviceName: string; stack?: string };
}

/** `providers.docker` of the controller's static configuration, with Traefik's defaults applied. */
export interface DockerProviderSettings {
  /** `unix:///var/run/docker.sock` (default), `tcp://host:2376`, or `DOCKER_HOST`. */
  endpoint: string;
  /** Default false: only containers with `traefik.enable=true` (or `berth.enable=true`) are routed. */
  exposedByDefault: boolean;
  /** Traefik's constraints expression on labels (`Label(\`a\`,\`b\`) && !LabelRegex(...)`), empty for none. */
  constraints: string;
  /** Go-template default rule, default ``Host(`{{ normalize .Name }}`)``. */
  defaultRule: string;
  /** Network used when a container is attached to several and names none with `traefik.docker.network`. */
  network: string;
  /** Use the published host port and host IP instead of the container's address. */
  useBindPortIP: boolean;
  /** Also route containers that are not running (Traefik's `allowEmptyServices`). */
  allowEmptyServices: boolean;
  /** Label prefixes read, in order of precedence; `traefik` and `berth`. */
  prefixes: string[];
}

/**
 * The pure half of the Docker provider: all containers in, one part per container out (parts of
 * containers with nothing to route may be omitted). Never throws: a bad label becomes an error in
 * the part of the container that carries it, naming the container and the label.
 */
export type ContainerDecoder = (
  containers: readonly ContainerFacts[],
  settings: DockerProviderSettings,
  options?: DecodeOptions,
) => ProviderPart[];

export interface DecodeOptions {
  /**
   * The provider the parts belong to (default `docker`). `swarm`: each fact is one task (or the VIP)
   * of a Swarm service and is named after the service, so messages say `service "web"`.
   */
  provider?: 'docker' | 'swarm';
}
