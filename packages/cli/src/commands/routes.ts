// `berth routes`: every router the sources define (enabled, disabled, or dropped for an error) with its rule, service and errors; `--tcp` for TCP routers.
import type { RouterListItem, TcpRouterListItem } from '@berth/controller';
import { apiGet } from '../api-client.js';
import { table } from '../output.js';
import { apiOptions, targetFrom } from './api-options.js';
import { bool, type Command } from './command.js';

/**
 * Where an HTTP router answers, as the nodes route: on each entry point, plain HTTP or only TLS
 * (its own `tls` or the entry point's `http.tls`). One port takes both, so `web (http)` on an
 * entry point meant for HTTPS is true: a plain request there reaches the router, an HTTPS one does not.
 */
export function entryPointsCell(r: RouterListItem): string {
  if (r.entryPoints.length === 0) return '-';
  const tls = new Set(r.tlsEntryPoints ?? []);
  return r.entryPoints.map((ep) => `${ep} (${tls.has(ep) ? 'https' : 'http'})`).join(', ');
}

export const ROUTE_HEADERS = ['ROUTER', 'STATUS', 'ENTRYPOINTS', 'PRIORITY', 'SERVICE', 'RULE', 'ERRORS'];

/** Table rows, one per HTTP router; pure so it is tested without a controller. */
export function routeRows(routers: readonly RouterListItem[]): string[][] {
  return routers.map((r) => [
    r.name,
    // Disabled yet answering 503 on the nodes: its middleware cannot be built.
    'failClosed' in r && r.failClosed === true ? 'disabled (503)' : r.status,
    entryPointsCell(r),
    r.status === 'error' ? '-' : String(r.priority),
    r.service || '-',
    r.rule || '-',
    r.errors.map((e) => e.code).join(',') || '-',
  ]);
}

export const TCP_ROUTE_HEADERS = [
  'ROUTER',
  'STATUS',
  'ENTRYPOINTS',
  'PRIORITY',
  'SERVICE',
  'RULE',
  'TLS',
  'ERRORS',
];

export function tcpRouteRows(routers: readonly TcpRouterListItem[]): string[][] {
  return routers.map((r) => [
    r.name,
    r.status,
    r.entryPoints.join(',') || '-',
    r.status === 'error' ? '-' : String(r.priority),
    r.service || '-',
    r.rule || '-',
    r.status === 'error' ? '-' : r.tls,
    r.errors.map((e) => e.code).join(',') || '-',
  ]);
}

/** Below the table: each error in full, with where it is, so a router that does not work says why. */
export function errorLines(routers: readonly (RouterListItem | TcpRouterListItem)[]): string[] {
  const lines: string[] = [];
  for (const r of routers) {
    for (const e of r.errors) {
      const label = e.source?.label === undefined ? '' : `, label ${e.source.label}`;
      const at = e.source
        ? ` (${e.source.origin}${e.source.line === undefined ? '' : `:${e.source.line}`}${label})`
        : '';
      const warning = e.severity === 'warning' ? 'warning: ' : '';
      lines.push(`  ${r.name}: ${warning}${e.code}: ${e.message}${at}`);
    }
  }
  return lines;
}

export const routesCommand: Command = {
  name: 'routes',
  summary: 'list HTTP routers (or TCP routers with --tcp) with their rule, service and status',
  options: {
    ...apiOptions,
    tcp: { type: 'boolean', help: 'list TCP routers (SNI passthrough, TLS, plain TCP) instead' },
  },
  examples: ['berth routes', 'berth routes --tcp --json'],
  async run(v) {
    const target = targetFrom(v, 'routes');
    const tcp = bool(v, 'tcp');
    const routers = tcp
      ? await apiGet<TcpRouterListItem[]>(target, '/api/v1/tcp/routers')
      : await apiGet<RouterListItem[]>(target, '/api/v1/routers');
    if (bool(v, 'json')) {
      process.stdout.write(`${JSON.stringify(routers, null, 2)}\n`);
      return 0;
    }
    const out = tcp
      ? table(TCP_ROUTE_HEADERS, tcpRouteRows(routers as TcpRouterListItem[]))
      : table(ROUTE_HEADERS, routeRows(routers as RouterListItem[]));
    const errors = errorLines(routers);
    process.stdout.write(`${out}\n${errors.length > 0 ? `\nErrors:\n${errors.join('\n')}\n` : ''}`);
    return 0;
  },
};
