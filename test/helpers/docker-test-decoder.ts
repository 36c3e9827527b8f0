// A stand-in for the Docker label decoder, for provider tests: reads just enough labels to route a container.
import type { DynamicConfig } from '@berth/config';
import type { ContainerDecoder, ContainerFacts, ProviderPart } from '@berth/controller';

/**
 * Reads `traefik.http.routers.<r>.rule` (router to the container's service) and
 * `traefik.http.services.<s>.loadbalancer.server.port`; the service is named by that label, so
 * replicas with the same labels become servers of one service. Only running, not unhealthy
 * containers count; the address is on `traefik.docker.network`, else the first network with an IPv4.
 * One part for everything: replicas would otherwise conflict as two definitions of one service.
 */
export const testDecoder: ContainerDecoder = (containers) => {
  const config: DynamicConfig = { http: { routers: {}, services: {} } };
  for (const c of containers) {
    if (c.state !== 'running' || c.health === 'unhealthy' || c.health === 'starting') continue;
    const labels = c.labels;
    let service: string | null = null;
    let port = '80';
    for (const [key, value] of Object.entries(labels)) {
      const m = /^traefik\.http\.services\.([^.]+)\.loadbalancer\.server\.port$/i.exec(key);
      if (m?.[1]) {
        service = m[1];
        port = value;
      }
    }
    service ??= c.name;
    const ip = address(c);
    if (ip === null) continue;
    const entry = config.http.services[service] ?? { loadBalancer: { servers: [] } };
    config.http.services[service] = entry;
    entry.loadBalancer?.servers.push({ url: `http://${ip}:${port}` });
    for (const [key, value] of Object.entries(labels)) {
      const m = /^traefik\.http\.routers\.([^.]+)\.rule$/i.exec(key);
      if (m?.[1]) config.http.routers[m[1]] ??= { rule: value, service };
    }
  }
  for (const s of Object.values(config.http.services))
    s.loadBalancer?.servers.sort((a, b) => (a.url < b.url ? -1 : 1));
  const part: ProviderPart = { sourceKey: 'docker', config, errors: [] };
  return [part];
};

function address(c: ContainerFacts): string | null {
  const wanted = c.labels['traefik.docker.network'];
  const net = c.networks.find((n) => (wanted ? n.name === wanted : n.ipv4 !== ''));
  return net?.ipv4 ? net.ipv4 : null;
}
