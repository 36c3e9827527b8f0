// Where a container's service is reached: its IP on the chosen network and its port, as Traefik picks them.
import type { ContainerFacts, DockerProviderSettings } from '../container-facts.js';
import { DockerErrorCodes } from './error-codes.js';

export type Resolved<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/** `network` from `traefik.docker.network` (label) or the provider settings. */
export interface NetworkChoice {
  name: string;
  fromLabel: boolean;
}

const MAX_CONTAINER_HOPS = 4;

/** The host part of a URL or `host:port`; IPv6 in brackets. */
export function hostForUrl(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

export function containerIp(
  c: ContainerFacts,
  network: NetworkChoice | undefined,
  all: readonly ContainerFacts[],
  prefixes: readonly string[] = ['traefik'],
  hops = 0,
): Resolved<string> {
  if (network !== undefined && network.name !== '') {
    const wanted = [
      network.name,
      ...(c.compose === undefined ? [] : [`${c.compose.project}_${network.name}`]),
    ];
    const found = wanted.map((w) => c.networks.find((n) => n.name === w)).find((n) => n !== undefined);
    if (found !== undefined) {
      const ip = found.ipv4 || found.ipv6;
      if (ip !== '') return { ok: true, value: ip };
      return {
        ok: false,
        code: DockerErrorCodes.ADDRESS,
        message: `network "${found.name}" gives the container no IP address`,
      };
    }
    // A wrong name in a label is an error, never a silent pick of some other network.
    if (network.fromLabel && c.networkMode !== 'host' && !c.networkMode.startsWith('container:')) {
      const attached = c.networks.map((n) => n.name).join(', ') || 'none';
      return {
        ok: false,
        code: DockerErrorCodes.ADDRESS,
        message: `network "${network.name}" (named by a label) is not attached to the container (attached: ${attached})`,
      };
    }
  }
  if (c.networkMode === 'host') return { ok: true, value: '127.0.0.1' };
  if (c.networkMode.startsWith('container:')) {
    const ref = c.networkMode.slice('container:'.length);
    const other = all.find(
      (o) => o.id === ref || o.name === ref || (ref.length >= 12 && o.id.startsWith(ref)),
    );
    if (other === undefined || hops >= MAX_CONTAINER_HOPS) {
      return {
        ok: false,
        code: DockerErrorCodes.ADDRESS,
        message: `the container shares the network of "${ref}", which is not known`,
      };
    }
    // As Traefik: the network label of the container that owns the namespace first, else this one's.
    const owned = networkLabel(other, prefixes);
    return containerIp(
      other,
      owned === '' ? network : { name: owned, fromLabel: true },
      all,
      prefixes,
      hops + 1,
    );
  }
  for (const n of c.networks) {
    const ip = n.ipv4 || n.ipv6;
    if (ip !== '') return { ok: true, value: ip };
  }
  return {
    ok: false,
    code: DockerErrorCodes.ADDRESS,
    message: 'the container has no IP address on any network',
  };
}

/** `<prefix>.docker.network` of a container, keys matched case-insensitively, prefixes in order; '' when none. */
function networkLabel(c: ContainerFacts, prefixes: readonly string[]): string {
  for (const prefix of prefixes) {
    const key = `${prefix}.docker.network`.toLowerCase();
    for (const [k, v] of Object.entries(c.labels)) if (k.toLowerCase() === key && v !== '') return v;
  }
  return '';
}

/**
 * The label's port, else the single exposed port of the service's protocol (TCP for HTTP and TCP
 * services, UDP for UDP ones). Traefik takes the lowest of several; Berth asks for the label
 * instead, as a guess there is how a service ends up on a metrics or admin port.
 */
export function containerPort(
  c: ContainerFacts,
  labelPort: string | undefined,
  protocol: 'tcp' | 'udp' = 'tcp',
): Resolved<string> {
  if (labelPort !== undefined && labelPort !== '') {
    if (!/^\d{1,5}$/.test(labelPort) || Number(labelPort) < 1 || Number(labelPort) > 65535) {
      return {
        ok: false,
        code: DockerErrorCodes.PORT,
        message: `port ${JSON.stringify(labelPort)} is not a port number from 1 to 65535`,
      };
    }
    return { ok: true, value: String(Number(labelPort)) };
  }
  const tcp = [...new Set(c.exposedPorts.filter((p) => p.protocol === protocol).map((p) => p.port))];
  if (tcp.length === 1) return { ok: true, value: String(tcp[0]) };
  if (tcp.length === 0) {
    return {
      ok: false,
      code: DockerErrorCodes.PORT,
      message:
        c.swarm === undefined
          ? `the container exposes no ${protocol.toUpperCase()} port; set loadbalancer.server.port`
          : 'Swarm tells no port of a service (no EXPOSE, no host-mode published port); set loadbalancer.server.port',
    };
  }
  return {
    ok: false,
    code: DockerErrorCodes.PORT,
    message: `the container exposes several ports (${tcp.join(', ')}); set loadbalancer.server.port to choose one`,
  };
}

/** IP and port, or the published host IP and port with `useBindPortIP`, as Traefik's getIPPort. */
export function serverEndpoint(
  c: ContainerFacts,
  labelPort: string | undefined,
  network: NetworkChoice | undefined,
  all: readonly ContainerFacts[],
  settings: DockerProviderSettings,
  protocol: 'tcp' | 'udp' = 'tcp',
): Resolved<{ host: string; port: string }> {
  const port = containerPort(c, labelPort, protocol);
  if (settings.useBindPortIP && port.ok) {
    const bound = c.publishedPorts.find((p) => String(p.containerPort) === port.value);
    if (bound !== undefined && bound.hostIp !== '' && bound.hostIp !== '0.0.0.0' && bound.hostIp !== '::') {
      return { ok: true, value: { host: hostForUrl(bound.hostIp), port: String(bound.hostPort) } };
    }
  }
  const ip = containerIp(c, network, all, settings.prefixes);
  if (!ip.ok) return ip;
  if (!port.ok) return port;
  return { ok: true, value: { host: hostForUrl(ip.value), port: port.value } };
}
