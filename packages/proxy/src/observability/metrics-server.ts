// The node-local HTTP endpoint Prometheus scrapes and orchestrators probe: GET /metrics and GET /healthz, nothing else.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAddress } from '@berth/config';
import type { Logger } from 'pino';
import { EXPOSITION_CONTENT_TYPE } from './metrics.js';

export const METRICS_ADDRESS_INVALID = 'BERTH_PROXY_METRICS_ADDRESS';

export class MetricsAddressError extends Error {
  readonly code = METRICS_ADDRESS_INVALID;
}

/**
 * What `/healthz` says: `ok` (200) once the node serves a snapshot, with its version and where it
 * came from (the controller, or the cache on disk at start); `starting` (503) before that.
 */
export type NodeHealth =
  | { status: 'ok'; version: number; source: 'controller' | 'cache' }
  | { status: 'starting' };

export interface MetricsServerOptions {
  /** `host:port`, `:port` (every interface) or `[ipv6]:port`. */
  address: string;
  /** The exposition text; a node with workers gathers theirs, hence the promise. */
  metrics: { expose(): string | Promise<string> };
  /** Asked at each `/healthz` request. */
  health: () => NodeHealth;
  logger: Logger;
}

export interface MetricsServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const parsed = parseAddress(options.address);
  if (parsed === null) {
    throw new MetricsAddressError(
      `invalid metrics address ${JSON.stringify(options.address)} (expected host:port or :port)`,
    );
  }
  const log = options.logger.child({ component: 'metrics' });
  const server: Server = createServer(async (req, res) => {
    req.resume();
    const path = (req.url ?? '/').split('?', 1)[0];
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (get && path === '/metrics') {
      let text: string;
      try {
        text = await options.metrics.expose();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'cannot render metrics');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
        return;
      }
      res.writeHead(200, {
        'content-type': EXPOSITION_CONTENT_TYPE,
        'content-length': Buffer.byteLength(text),
      });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    if (get && path === '/healthz') {
      const health = options.health();
      const text = JSON.stringify(health);
      res.writeHead(health.status === 'ok' ? 200 : 503, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    res
      .writeHead(get ? 404 : 405, { 'content-type': 'text/plain' })
      .end(get ? 'not found\n' : 'method not allowed\n');
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const ready = () => {
      server.off('error', reject);
      resolve();
    };
    if (parsed.host === '') server.listen(parsed.port, ready);
    else server.listen(parsed.port, parsed.host, ready);
  });
  const address = server.address() as AddressInfo;
  log.info({ address: `${address.address}:${address.port}` }, 'serving metrics');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
