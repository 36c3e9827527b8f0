// The node-local HTTP endpoint Prometheus scrapes: GET /metrics and GET /healthz, nothing else.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAddress } from '@berth/config';
import type { Logger } from 'pino';
import { EXPOSITION_CONTENT_TYPE } from './metrics.js';

export const METRICS_ADDRESS_INVALID = 'BERTH_PROXY_METRICS_ADDRESS';

export class MetricsAddressError extends Error {
  readonly code = METRICS_ADDRESS_INVALID;
}

export interface MetricsServerOptions {
  /** `host:port`, `:port` (every interface) or `[ipv6]:port`. */
  address: string;
  /** The exposition text; a node with workers gathers theirs, hence the promise. */
  metrics: { expose(): string | Promise<string> };
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
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
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
