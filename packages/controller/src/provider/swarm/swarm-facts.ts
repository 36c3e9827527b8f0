// Swarm services and their tasks → ContainerFacts, the Docker label decoder's input: plain data, no I/O.
// One fact per running task (Traefik's default), or one for the service's VIP with `traefik.swarm.lbswarm`.
import { type ConfigError, configError } from '@berth/config';
import type { ContainerFacts, ContainerNetwork } from '../docker/container-facts.js';
import { parseGoBool } from '../docker/labels/decode-container.js';
import { DockerErrorCodes } from '../docker/labels/error-codes.js';
import { buildLabelTree, byCodeUnit, childNode } from '../docker/labels/label-tree.js';
import type { SwarmService, SwarmState, SwarmTask } from './swarm-client.js';
import type { SwarmProviderSettings } from './swarm-settings.js';

export interface SwarmFacts {
  /** Sorted by name (the service's), then id (the task's). */
  facts: ContainerFacts[];
  /** What the conversion itself found wrong, by service name (a bad `lbswarm`, `lbswarm` with dnsrr). */
  errors: Map<string, ConfigError[]>;
}

/** Task states on the way to `running`: a resync that sees one has to look again soon. */
const STARTING = new Set(['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting']);

/** A task Swarm wants running but that does not run yet: its address is coming. */
export function isTaskStarting(task: SwarmTask): boolean {
  return task.DesiredState === 'running' && STARTING.has(task.Status?.State ?? '');
}

/** A rolling update (or its rollback) in progress: tasks are about to be stopped, and no event says which. */
export function isServiceUpdating(service: SwarmService): boolean {
  const state = service.UpdateStatus?.State;
  return state === 'updating' || state === 'rollback_started';
}

/** Only tasks that run and are meant to: one being shut down (desired `shutdown`) gets no new request. */
export function isTaskRunning(task: SwarmTask): boolean {
  return task.DesiredState === 'running' && task.Status?.State === 'running';
}

export function factsFromSwarm(state: SwarmState, settings: SwarmProviderSettings): SwarmFacts {
  const networks = new Map<string, { name: string; ingress: boolean }>();
  for (const n of state.networks) {
    if (n.Id)
      networks.set(n.Id, { name: n.Name ?? n.Id, ingress: n.Ingress === true || n.Name === 'ingress' });
  }
  const nodeAddr = new Map<string, string>();
  for (const node of state.nodes) if (node.ID) nodeAddr.set(node.ID, node.Status?.Addr ?? '');
  const tasksOf = new Map<string, SwarmTask[]>();
  for (const task of state.tasks) {
    if (!task.ServiceID) continue;
    const list = tasksOf.get(task.ServiceID);
    if (list === undefined) tasksOf.set(task.ServiceID, [task]);
    else list.push(task);
  }

  const facts: ContainerFacts[] = [];
  const errors = new Map<string, ConfigError[]>();
  for (const service of state.services) {
    const name = service.Spec?.Name ?? '';
    if (name === '' || !service.ID) continue;
    const labels: Record<string, string> = {};
    for (const [key, value] of Object.entries(service.Spec?.Labels ?? {})) {
      if (typeof value === 'string') labels[key] = value;
    }
    const stack = labels['com.docker.stack.namespace'];
    const base = {
      name,
      labels,
      health: null,
      networkMode: '',
      swarm: stack === undefined ? { serviceName: name } : { serviceName: name, stack },
    } satisfies Partial<ContainerFacts>;
    const problems: ConfigError[] = [];
    const say = (code: string, label: string, text: string, warning = false) => {
      const e = configError(code, 'labels', `service "${name}", label ${label}: ${text}`, {
        provider: 'swarm',
        origin: name,
        label,
      });
      problems.push(warning ? { ...e, severity: 'warning' } : e);
    };

    let lbSwarm = false;
    const lbNode = lbSwarmNode(labels, settings.prefixes);
    if (lbNode?.value !== undefined && lbNode.label !== undefined) {
      const flag = parseGoBool(lbNode.value);
      if (flag === undefined) {
        say(
          DockerErrorCodes.LABEL_VALUE,
          lbNode.label,
          `must be true or false, got ${JSON.stringify(lbNode.value)}; the tasks are balanced by Berth`,
        );
      } else if (flag && service.Spec?.EndpointSpec?.Mode === 'dnsrr') {
        say(
          DockerErrorCodes.SWARM_LB_DNSRR,
          lbNode.label,
          'the service uses endpoint mode dnsrr, which has no virtual IP; the tasks are balanced by Berth',
          true,
        );
      } else {
        lbSwarm = flag;
      }
    }
    if (problems.length > 0) errors.set(name, problems);

    if (lbSwarm) {
      // Swarm's own balancer behind the VIP: one server, whatever the tasks do.
      const vips: ContainerNetwork[] = [];
      for (const vip of service.Endpoint?.VirtualIPs ?? []) {
        const net = vip.NetworkID === undefined ? undefined : networks.get(vip.NetworkID);
        const ip = stripPrefix(vip.Addr ?? '');
        if (net === undefined || ip === '') continue;
        vips.push(addressOn(net.name, ip));
      }
      facts.push({
        ...base,
        id: service.ID,
        state: 'running',
        networks: sortNetworks(vips, networks),
        exposedPorts: [],
        publishedPorts: [],
      });
      continue;
    }

    const running = (tasksOf.get(service.ID) ?? []).filter(isTaskRunning);
    for (const task of running) {
      const attached: ContainerNetwork[] = [];
      for (const attachment of task.NetworksAttachments ?? []) {
        const id = attachment.Network?.ID;
        const net = id === undefined ? undefined : networks.get(id);
        if (net === undefined) continue;
        for (const addr of attachment.Addresses ?? []) {
          const ip = stripPrefix(addr);
          if (ip !== '') attached.push(addressOn(net.name, ip));
        }
      }
      const host = nodeAddr.get(task.NodeID ?? '') ?? '';
      const exposed = new Map<string, { port: number; protocol: 'tcp' | 'udp' }>();
      const published = new Map<string, ContainerFacts['publishedPorts'][number]>();
      for (const p of task.Status?.PortStatus?.Ports ?? []) {
        const protocol =
          p.Protocol === 'udp' ? 'udp' : p.Protocol === 'tcp' || p.Protocol === undefined ? 'tcp' : null;
        const target = p.TargetPort ?? 0;
        const hostPort = p.PublishedPort ?? 0;
        if (protocol === null || !validPort(target) || !validPort(hostPort) || p.PublishMode !== 'host')
          continue;
        exposed.set(`${target}/${protocol}`, { port: target, protocol });
        // Docker lists a host-mode port once per address family; one is enough.
        published.set(`${target}/${protocol}/${hostPort}`, {
          containerPort: target,
          hostIp: host,
          hostPort,
          protocol,
        });
      }
      facts.push({
        ...base,
        id: task.ID ?? '',
        state: 'running',
        networks: sortNetworks(attached, networks),
        exposedPorts: [...exposed.values()].sort(
          (a, b) => a.port - b.port || byCodeUnit(a.protocol, b.protocol),
        ),
        publishedPorts: [...published.values()].sort(
          (a, b) =>
            a.containerPort - b.containerPort ||
            byCodeUnit(a.protocol, b.protocol) ||
            a.hostPort - b.hostPort,
        ),
      });
    }
    if (running.length === 0 && settings.allowEmptyServices) {
      // No task runs: shown as a container still starting, which the decoder routes with no servers
      // under allowEmptyServices (a 503 rather than a 404, as in Traefik).
      facts.push({
        ...base,
        id: service.ID,
        health: 'starting',
        state: 'running',
        networks: [],
        exposedPorts: [],
        publishedPorts: [],
      });
    }
  }
  facts.sort((a, b) => byCodeUnit(a.name, b.name) || byCodeUnit(a.id, b.id));
  return { facts, errors };
}

/** `traefik.swarm.lbswarm`, else its deprecated spelling `traefik.docker.lbswarm` (any prefix, any case). */
function lbSwarmNode(labels: Record<string, string>, prefixes: readonly string[]) {
  const tree = buildLabelTree(labels, prefixes);
  return (
    childNode(childNode(tree.root, 'swarm'), 'lbswarm') ??
    childNode(childNode(tree.root, 'docker'), 'lbswarm')
  );
}

function addressOn(name: string, ip: string): ContainerNetwork {
  return ip.includes(':') ? { name, ipv4: '', ipv6: ip } : { name, ipv4: ip, ipv6: '' };
}

/**
 * By name, the ingress network last: the decoder takes the first network with an address when none
 * is named, and the routing mesh's network is the one never meant for that.
 */
function sortNetworks(
  list: ContainerNetwork[],
  known: Map<string, { name: string; ingress: boolean }>,
): ContainerNetwork[] {
  const ingress = new Set([...known.values()].filter((n) => n.ingress).map((n) => n.name));
  // One address per network (Swarm gives one; a second would only be a duplicate).
  const seen = new Map<string, ContainerNetwork>();
  for (const n of list) {
    const have = seen.get(n.name);
    if (have === undefined) seen.set(n.name, { ...n });
    else if (have.ipv4 === '' && n.ipv4 !== '') have.ipv4 = n.ipv4;
    else if (have.ipv6 === '' && n.ipv6 !== '') have.ipv6 = n.ipv6;
  }
  return [...seen.values()].sort(
    (a, b) => Number(ingress.has(a.name)) - Number(ingress.has(b.name)) || byCodeUnit(a.name, b.name),
  );
}

function stripPrefix(cidr: string): string {
  const slash = cidr.indexOf('/');
  return (slash < 0 ? cidr : cidr.slice(0, slash)).trim();
}

function validPort(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 65535;
}
