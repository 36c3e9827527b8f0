// The metrics a proxy node exposes, with per-request recording that costs a few map lookups and no strings.
import type { Server } from 'node:net';
import type { RequestCount, ServerStatusReport, SnapshotBody, StatusClass } from '@berth/protocol';
import type { RequestRecord } from '../http/context.js';
import {
  type Counter,
  type CounterChild,
  type Gauge,
  type GaugeChild,
  type Histogram,
  type HistogramChild,
  MetricsRegistry,
} from './metrics.js';

const CLASSES: readonly StatusClass[] = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** Everything recorded for one (entry point, router, service). */
class RequestSeries {
  readonly #codes = new Map<number, CounterChild>();

  /** Status codes seen, so the series' counters can be removed. */
  codes(): number[] {
    return [...this.#codes.keys()];
  }
  /** Requests per status class; index 1..5 (`1xx`..`5xx`), 0 for anything else. */
  readonly classes = [0, 0, 0, 0, 0, 0];

  constructor(
    private readonly requests: Counter,
    readonly duration: HistogramChild,
    readonly entryPoint: string,
    readonly router: string,
    readonly service: string,
  ) {}

  record(status: number, seconds: number): void {
    let counter = this.#codes.get(status);
    if (counter === undefined) {
      counter = this.requests.labels(this.entryPoint, this.router, this.service, String(status));
      this.#codes.set(status, counter);
    }
    counter.inc();
    const cls = Math.floor(status / 100);
    const slot = cls >= 1 && cls <= 5 ? cls : 0;
    this.classes[slot] = (this.classes[slot] as number) + 1;
    this.duration.observe(seconds);
  }
}

/** What health reports look like to the metrics: the HealthRegistry, or a stand-in. */
export interface HealthReporter {
  report(): ServerStatusReport[];
}

export class NodeMetrics {
  readonly registry = new MetricsRegistry();
  readonly #requests: Counter;
  readonly #duration: Histogram;
  readonly #open: Gauge;
  readonly #serverUp: Gauge;
  readonly #tcpOpen: Gauge;
  readonly #udpSessions: Gauge;
  readonly #version: GaugeChild;
  readonly #applies: Counter;
  /** entry point → router → service → series; nested maps so a lookup builds no key string. */
  readonly #series = new Map<string, Map<string, Map<string, RequestSeries>>>();
  readonly #openPerEntryPoint = new Map<string, GaugeChild>();

  constructor() {
    const r = this.registry;
    this.#requests = r.counter('berth_requests_total', 'HTTP requests answered, by status code.', [
      'entrypoint',
      'router',
      'service',
      'code',
    ]);
    this.#duration = r.histogram(
      'berth_request_duration_seconds',
      'Time from the request arriving to the response ending.',
      ['entrypoint', 'router', 'service'],
    );
    this.#open = r.gauge('berth_open_connections', 'Client connections open now.', ['entrypoint']);
    this.#serverUp = r.gauge(
      'berth_server_up',
      'Whether an upstream server takes requests (1) or is down or ejected (0).',
      ['service', 'url'],
    );
    this.#tcpOpen = r.gauge(
      'berth_tcp_connections_open',
      'TCP connections open now (passthrough, terminated or plain), by TCP router.',
      ['entrypoint', 'router'],
    );
    this.#udpSessions = r.gauge(
      'berth_udp_sessions',
      'UDP client sessions open now (one upstream socket each), by UDP entry point and router.',
      ['entrypoint', 'router'],
    );
    this.#version = r.gauge('berth_snapshot_version', 'Version of the snapshot this node serves.').labels();
    this.#applies = r.counter('berth_snapshot_applies_total', 'Snapshot applies, by result.', ['result']);
  }

  /** The series of one (entry point, router, service); empty strings when no router or service was chosen. */
  series(entryPoint: string, router: string, service: string): RequestSeries {
    let routers = this.#series.get(entryPoint);
    if (routers === undefined) {
      routers = new Map();
      this.#series.set(entryPoint, routers);
    }
    let services = routers.get(router);
    if (services === undefined) {
      services = new Map();
      routers.set(router, services);
    }
    let series = services.get(service);
    if (series === undefined) {
      series = new RequestSeries(
        this.#requests,
        this.#duration.labels(entryPoint, router, service),
        entryPoint,
        router,
        service,
      );
      services.set(service, series);
    }
    return series;
  }

  /**
   * Drops the series of routers and services a new snapshot no longer has, so a long-lived node
   * with churning containers does not grow without bound. Their requests leave the stats too.
   */
  retain(body: SnapshotBody): void {
    const routers = body.http?.routers ?? {};
    const services = body.http?.services ?? {};
    for (const byRouter of this.#series.values()) {
      for (const [router, byService] of byRouter) {
        for (const [service, s] of byService) {
          const gone =
            (router !== '' && !Object.hasOwn(routers, router)) ||
            (service !== '' && !Object.hasOwn(services, service));
          if (!gone) continue;
          for (const code of s.codes()) this.#requests.remove(s.entryPoint, router, service, String(code));
          this.#duration.remove(s.entryPoint, router, service);
          byService.delete(service);
        }
        if (byService.size === 0) byRouter.delete(router);
      }
    }
  }

  connectionOpened(entryPoint: string): void {
    this.#openGauge(entryPoint).inc();
  }

  connectionClosed(entryPoint: string): void {
    this.#openGauge(entryPoint).dec();
  }

  #openGauge(entryPoint: string): GaugeChild {
    let gauge = this.#openPerEntryPoint.get(entryPoint);
    if (gauge === undefined) {
      gauge = this.#open.labels(entryPoint);
      this.#openPerEntryPoint.set(entryPoint, gauge);
    }
    return gauge;
  }

  /** Counts the connections of a listener for `berth_open_connections`. */
  trackConnections(server: Server, entryPoint: string): void {
    const gauge = this.#openGauge(entryPoint);
    server.on('connection', (socket) => {
      gauge.inc();
      socket.once('close', () => gauge.dec());
    });
  }

  openConnections(): number {
    let total = 0;
    for (const gauge of this.#openPerEntryPoint.values()) total += gauge.value;
    return total;
  }

  snapshotApplied(result: 'ok' | 'error', version?: number): void {
    this.#applies.labels(result).inc();
    if (result === 'ok' && version !== undefined) this.#version.set(version);
  }

  /** `berth_tcp_connections_open` is read from the TCP data plane at each scrape. */
  watchTcp(tcp: { openConnections(): { entryPoint: string; router: string; open: number }[] }): void {
    this.registry.onCollect(() => {
      this.#tcpOpen.reset();
      for (const c of tcp.openConnections()) this.#tcpOpen.labels(c.entryPoint, c.router).set(c.open);
    });
  }

  /** `berth_udp_sessions` is read from the UDP data plane at each scrape. */
  watchUdp(udp: { openSessions(): { entryPoint: string; router: string; open: number }[] }): void {
    this.registry.onCollect(() => {
      this.#udpSessions.reset();
      for (const s of udp.openSessions()) this.#udpSessions.labels(s.entryPoint, s.router).set(s.open);
    });
  }

  /** `berth_server_up` is read from the health reporter at each scrape. */
  watchHealth(health: HealthReporter): void {
    this.registry.onCollect(() => {
      this.#serverUp.reset();
      for (const s of health.report()) this.#serverUp.labels(s.service, s.url).set(s.status === 'up' ? 1 : 0);
    });
  }

  /** Cumulative requests per router, service and status class, for the controller. */
  requestCounts(): RequestCount[] {
    const totals = new Map<string, { router: string; service: string; classes: number[] }>();
    for (const routers of this.#series.values()) {
      for (const services of routers.values()) {
        for (const s of services.values()) {
          const key = `${s.router}\u0000${s.service}`;
          let t = totals.get(key);
          if (t === undefined) {
            t = { router: s.router, service: s.service, classes: [0, 0, 0, 0, 0, 0] };
            totals.set(key, t);
          }
          for (let i = 1; i <= 5; i++) t.classes[i] = (t.classes[i] as number) + (s.classes[i] as number);
        }
      }
    }
    const out: RequestCount[] = [];
    for (const t of totals.values()) {
      for (let i = 1; i <= 5; i++) {
        const count = t.classes[i] as number;
        if (count > 0) {
          out.push({
            router: t.router,
            service: t.service,
            statusClass: CLASSES[i - 1] as StatusClass,
            count,
          });
        }
      }
    }
    return out;
  }

  expose(): string {
    return this.registry.expose();
  }
}

/**
 * Records one finished request: the entry point calls this from its request-end hook. A request
 * that ended before any status was chosen (the client left) is counted under code `0`.
 */
export function recordRequest(metrics: NodeMetrics, ctx: RequestRecord, endedAt: bigint): void {
  const log = ctx.log;
  const series = metrics.series(log.entryPoint, log.router ?? '', log.service ?? '');
  series.record(log.status ?? 0, Number(endedAt - ctx.startedAt) / 1e9);
}
