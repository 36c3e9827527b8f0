// TCP services (pure): load balancers (smooth weighted round robin over healthy servers) and weighted services, with resolved transports.
import { parseAddress, parseDuration, type TcpConfig, type TcpServersTransport } from '@berth/config';
import { RoundRobin } from '../balancer/round-robin.js';

export const TCP_DEFAULTS = {
  dialTimeoutMs: 30_000,
  terminationDelayMs: 100,
  /** HAProxy's `timeout tunnel` spirit: long-lived connections are fine, forgotten ones are not. */
  idleTimeoutMs: 3_600_000,
  healthIntervalMs: 30_000,
  healthTimeoutMs: 5_000,
} as const;

/** A `tcp.serversTransports` entry with defaults applied and durations in milliseconds. */
export interface ResolvedTcpTransport {
  name: string;
  dialTimeoutMs: number;
  /** Negative: never cut a half-closed connection. */
  terminationDelayMs: number;
  /** 0: never. */
  idleTimeoutMs: number;
  proxyProtocol: 1 | 2 | undefined;
  tls: TcpServersTransport['tls'];
}

export interface TcpTarget {
  service: string;
  /** As configured, `host:port`. */
  address: string;
  host: string;
  port: number;
  weight: number;
  tls: boolean;
  transport: ResolvedTcpTransport;
  /** Key of the server's health status (service + address). */
  healthKey: string;
}

export interface TcpHealthSpec {
  key: string;
  host: string;
  port: number;
  send: string | undefined;
  expect: string | undefined;
  intervalMs: number;
  unhealthyIntervalMs: number;
  timeoutMs: number;
}

export interface TcpServiceProblem {
  service: string;
  message: string;
}

type Picker = { next(): TcpTarget | undefined; available(): boolean };

function ms(value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = parseDuration(value);
  return parsed === null ? fallback : Math.round(parsed);
}

export function resolveTcpTransport(name: string, t: TcpServersTransport | undefined): ResolvedTcpTransport {
  return {
    name,
    dialTimeoutMs: ms(t?.dialTimeout, TCP_DEFAULTS.dialTimeoutMs),
    terminationDelayMs: ms(t?.terminationDelay, TCP_DEFAULTS.terminationDelayMs),
    idleTimeoutMs: ms(t?.idleTimeout, TCP_DEFAULTS.idleTimeoutMs),
    proxyProtocol: t?.proxyProtocol ? (t.proxyProtocol.version ?? 2) : undefined,
    tls: t?.tls,
  };
}

export const healthKey = (service: string, address: string): string => `${service}|${address}`;

/**
 * The services of one snapshot. `isUp` answers for a health key (servers without a health
 * check are always up); it is read at every pick, so health changes need no rebuild.
 */
export class TcpServices {
  readonly problems: TcpServiceProblem[] = [];
  readonly healthChecks: TcpHealthSpec[] = [];
  readonly #pickers = new Map<string, Picker>();

  constructor(tcp: TcpConfig | undefined, isUp: (key: string) => boolean) {
    const services = tcp?.services ?? {};
    const transports = tcp?.serversTransports ?? {};
    const building = new Set<string>();
    const build = (name: string): Picker | undefined => {
      const done = this.#pickers.get(name);
      if (done) return done;
      const svc = services[name];
      if (svc === undefined) return undefined;
      if (building.has(name)) {
        this.problems.push({ service: name, message: 'weighted services form a cycle' });
        return undefined;
      }
      building.add(name);
      let picker: Picker | undefined;
      if (svc.loadBalancer) {
        const lb = svc.loadBalancer;
        const transportName = lb.serversTransport ?? 'default';
        if (lb.serversTransport !== undefined && transports[lb.serversTransport] === undefined) {
          this.problems.push({
            service: name,
            message: `serversTransport '${lb.serversTransport}' does not exist`,
          });
        }
        const base = resolveTcpTransport(transportName, transports[transportName]);
        const transport: ResolvedTcpTransport = {
          ...base,
          // The serversTransport's settings win over the Traefik v2 places on the load balancer.
          proxyProtocol:
            base.proxyProtocol ?? (lb.proxyProtocol ? (lb.proxyProtocol.version ?? 2) : undefined),
          terminationDelayMs:
            transports[transportName]?.terminationDelay === undefined && lb.terminationDelay !== undefined
              ? lb.terminationDelay
              : base.terminationDelayMs,
        };
        const targets: TcpTarget[] = [];
        for (const server of lb.servers) {
          const addr = parseAddress(server.address);
          if (addr === null || addr.host === '') {
            this.problems.push({
              service: name,
              message: `server address '${server.address}' is not host:port`,
            });
            continue;
          }
          targets.push({
            service: name,
            address: server.address,
            host: addr.host,
            port: addr.port,
            weight: server.weight ?? 1,
            tls: server.tls === true,
            transport,
            healthKey: healthKey(name, server.address),
          });
          const hc = lb.healthCheck;
          if (hc) {
            const interval = ms(hc.interval, TCP_DEFAULTS.healthIntervalMs);
            this.healthChecks.push({
              key: healthKey(name, server.address),
              host: addr.host,
              port: hc.port ?? addr.port,
              send: hc.send,
              expect: hc.expect,
              intervalMs: interval,
              unhealthyIntervalMs: ms(hc.unhealthyInterval, interval),
              timeoutMs: ms(hc.timeout, TCP_DEFAULTS.healthTimeoutMs),
            });
          }
        }
        const rr = new RoundRobin(targets);
        const up = (t: TcpTarget) => isUp(t.healthKey);
        picker = { next: () => rr.next(up), available: () => targets.some((t) => t.weight > 0 && up(t)) };
      } else if (svc.weighted) {
        const children: { picker: Picker; weight: number }[] = [];
        for (const child of svc.weighted.services) {
          const p = build(child.name);
          if (p === undefined) {
            if (services[child.name] === undefined) {
              this.problems.push({ service: name, message: `service '${child.name}' does not exist` });
            }
            continue;
          }
          children.push({ picker: p, weight: child.weight ?? 1 });
        }
        const rr = new RoundRobin(children);
        const up = (c: { picker: Picker }) => c.picker.available();
        picker = {
          next: () => rr.next(up)?.picker.next(),
          available: () => children.some((c) => c.weight > 0 && up(c)),
        };
      } else {
        this.problems.push({ service: name, message: 'service has neither loadBalancer nor weighted' });
      }
      building.delete(name);
      if (picker) this.#pickers.set(name, picker);
      return picker;
    };
    for (const name of Object.keys(services)) build(name);
  }

  has(service: string): boolean {
    return this.#pickers.has(service);
  }

  /** The next healthy server of `service`, or undefined (unknown service, or every server down). */
  pick(service: string): TcpTarget | undefined {
    return this.#pickers.get(service)?.next();
  }
}
