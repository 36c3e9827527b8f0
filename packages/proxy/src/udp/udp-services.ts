// UDP routing tables (pure): the one router of each UDP entry point, and a weighted round robin picker per service.
import { parseAddress, type UdpConfig } from '@berth/config';
import { RoundRobin } from '../balancer/round-robin.js';

export interface UdpTarget {
  /** As configured, `host:port`. */
  address: string;
  host: string;
  port: number;
}

/** Picks the server of each new client session; undefined when the service has none. */
export interface UdpPicker {
  next(): UdpTarget | undefined;
  /** Every server the service can pick, by address (a session to another one is closed on apply). */
  readonly addresses: ReadonlySet<string>;
}

export interface UdpRoute {
  router: string;
  service: string;
  picker: UdpPicker;
}

/** Weighted services nest; the compiler drops cycles, this bounds a body that was not compiled by it. */
const MAX_DEPTH = 16;

/**
 * Services by name. New sessions are spread by smooth weighted round robin (Traefik uses a classic
 * interleaved WRR: the same shares in a different order); a load balancer's servers weigh 1 each.
 */
export function buildUdpPickers(udp: UdpConfig | undefined): Map<string, UdpPicker> {
  const out = new Map<string, UdpPicker>();
  const services = udp?.services ?? {};
  const build = (name: string, depth: number): UdpPicker | undefined => {
    const known = out.get(name);
    if (known !== undefined) return known;
    const def = Object.hasOwn(services, name) ? services[name] : undefined;
    if (def === undefined || depth > MAX_DEPTH) return undefined;
    let picker: UdpPicker;
    if (def.loadBalancer !== undefined) {
      const targets: UdpTarget[] = [];
      for (const server of def.loadBalancer.servers) {
        const parsed = parseAddress(server.address.trim());
        if (parsed === null || parsed.host === '' || parsed.port === 0) continue;
        targets.push({ address: server.address, host: parsed.host, port: parsed.port });
      }
      const rr = new RoundRobin<UdpTarget & { weight?: number }>(targets);
      picker = { next: () => rr.next(), addresses: new Set(targets.map((t) => t.address)) };
    } else {
      const children: { picker: UdpPicker; weight: number }[] = [];
      for (const child of def.weighted?.services ?? []) {
        const p = build(child.name, depth + 1);
        if (p !== undefined) children.push({ picker: p, weight: child.weight ?? 1 });
      }
      const rr = new RoundRobin(children);
      const addresses = new Set(children.flatMap((c) => [...c.picker.addresses]));
      // A child with no server left gives way to the next one, as a pick of nothing helps nobody.
      picker = {
        next: () => {
          for (let tries = 0; tries < children.length; tries++) {
            const target = rr.next()?.picker.next();
            if (target !== undefined) return target;
          }
          return undefined;
        },
        addresses,
      };
    }
    out.set(name, picker);
    return picker;
  };
  for (const name of Object.keys(services)) build(name, 0);
  return out;
}

/** The router of each UDP entry point: the greatest name among those naming it, as Traefik picks. */
export function udpRoutes(
  udp: UdpConfig | undefined,
  entryPoints: Iterable<string>,
  pickers: Map<string, UdpPicker>,
): Map<string, UdpRoute> {
  const wanted = new Set(entryPoints);
  const routes = new Map<string, UdpRoute>();
  const routers = udp?.routers ?? {};
  for (const name of Object.keys(routers).sort().reverse()) {
    const router = routers[name]!;
    const picker = pickers.get(router.service);
    if (picker === undefined) continue;
    for (const ep of router.entryPoints ?? wanted) {
      if (wanted.has(ep) && !routes.has(ep))
        routes.set(ep, { router: name, service: router.service, picker });
    }
  }
  return routes;
}
