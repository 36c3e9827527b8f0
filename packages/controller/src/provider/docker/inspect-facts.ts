// Turns Docker's inspect answer for one container into ContainerFacts: plain data, no I/O, tolerant of gaps.
import type { ContainerFacts, ContainerNetwork } from './container-facts.js';

/**
 * The part of `GET /containers/{id}/json` the provider reads. Every field is optional: older daemons,
 * socket proxies and containers in odd states leave some out, and a gap must not throw.
 */
export interface ContainerInspect {
  Id?: string;
  Name?: string;
  State?: { Status?: string; Health?: { Status?: string } | null } | null;
  HostConfig?: { NetworkMode?: string } | null;
  Config?: {
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, unknown> | null;
  } | null;
  NetworkSettings?: {
    Ports?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
    Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string } | null> | null;
  } | null;
}

const HEALTH = new Set(['healthy', 'unhealthy', 'starting']);

export function factsFromInspect(info: ContainerInspect): ContainerFacts {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(info.Config?.Labels ?? {})) {
    if (typeof value === 'string') labels[key] = value;
  }
  const health = info.State?.Health?.Status;
  const networks: ContainerNetwork[] = Object.entries(info.NetworkSettings?.Networks ?? {})
    .map(([name, net]) => ({ name, ipv4: net?.IPAddress ?? '', ipv6: net?.GlobalIPv6Address ?? '' }))
    .sort((a, b) => byCodeUnit(a.name, b.name));

  const exposed = new Map<string, { port: number; protocol: 'tcp' | 'udp' }>();
  for (const key of Object.keys(info.Config?.ExposedPorts ?? {})) {
    const port = parsePortKey(key);
    if (port !== null) exposed.set(`${port.port}/${port.protocol}`, port);
  }
  const published: ContainerFacts['publishedPorts'] = [];
  for (const [key, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
    const port = parsePortKey(key);
    if (port === null) continue;
    // A published port is exposed too, even when the image never said EXPOSE.
    exposed.set(`${port.port}/${port.protocol}`, port);
    for (const binding of bindings ?? []) {
      const hostPort = Number(binding.HostPort);
      if (!Number.isInteger(hostPort) || hostPort <= 0 || hostPort > 65535) continue;
      published.push({
        containerPort: port.port,
        hostIp: binding.HostIp ?? '',
        hostPort,
        protocol: port.protocol,
      });
    }
  }
  published.sort(
    (a, b) =>
      a.containerPort - b.containerPort ||
      byCodeUnit(a.protocol, b.protocol) ||
      byCodeUnit(a.hostIp, b.hostIp) ||
      a.hostPort - b.hostPort,
  );

  const facts: ContainerFacts = {
    id: info.Id ?? '',
    name: (info.Name ?? '').replace(/^\//, ''),
    labels,
    state: info.State?.Status ?? 'unknown',
    health: health !== undefined && HEALTH.has(health) ? (health as ContainerFacts['health']) : null,
    networkMode: info.HostConfig?.NetworkMode ?? '',
    networks,
    exposedPorts: [...exposed.values()].sort((a, b) => a.port - b.port || byCodeUnit(a.protocol, b.protocol)),
    publishedPorts: published,
  };
  const project = labels['com.docker.compose.project'];
  const service = labels['com.docker.compose.service'];
  if (project !== undefined && service !== undefined) facts.compose = { project, service };
  const swarmService = labels['com.docker.swarm.service.name'];
  if (swarmService !== undefined) {
    const stack = labels['com.docker.stack.namespace'];
    facts.swarm = stack === undefined ? { serviceName: swarmService } : { serviceName: swarmService, stack };
  }
  return facts;
}

/** `80/tcp`, `53/udp`, `8080` (tcp implied); SCTP and ranges are not routable here and yield null. */
function parsePortKey(key: string): { port: number; protocol: 'tcp' | 'udp' } | null {
  const match = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(key.trim());
  if (!match) return null;
  const port = Number(match[1]);
  if (port < 1 || port > 65535) return null;
  return { port, protocol: (match[2]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp' };
}

/** Locale-independent order: facts are compared as canonical JSON, so their order must not depend on ICU. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
