// TCP routers per entry point (pure): compiled rules in match order, TLS routers apart from plain ones.
import {
  type CompiledTcpRule,
  type ConnectionView,
  compileTcpRule,
  parseTcpRule,
  type TcpConfig,
  type TcpRouterTls,
} from '@berth/config';

export interface TcpRoute {
  /** Router name (unique per snapshot, so per entry point too). */
  name: string;
  rule: CompiledTcpRule;
  priority: number;
  service: string;
  middlewares: readonly string[];
  /** Present: the router takes TLS connections only (terminated here unless `passthrough`). */
  tls: TcpRouterTls | undefined;
  passthrough: boolean;
}

export interface TcpRouterTable {
  /** Routers with `tls`, by priority: tried against a connection that sent a ClientHello. */
  readonly tlsRoutes: readonly TcpRoute[];
  /** Routers without `tls`, by priority: tried against plain connections (and, last, TLS ones, raw). */
  readonly plainRoutes: readonly TcpRoute[];
}

export interface TcpRouterProblem {
  router: string;
  message: string;
}

/** Match order: higher priority first; ties broken by name so every node agrees. */
export function compareRoutes(a: TcpRoute, b: TcpRoute): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * One table per entry point in `entryPoints`. A router without `entryPoints` is bound to every
 * entry point (as Traefik); a router whose rule does not parse is left out and reported, the
 * others still run.
 */
export function buildTcpRouterTables(
  tcp: TcpConfig | undefined,
  entryPoints: readonly string[],
): { tables: Map<string, TcpRouterTable>; problems: TcpRouterProblem[] } {
  const lists = new Map<string, { tls: TcpRoute[]; plain: TcpRoute[] }>();
  for (const ep of entryPoints) lists.set(ep, { tls: [], plain: [] });
  const problems: TcpRouterProblem[] = [];
  for (const [name, router] of Object.entries(tcp?.routers ?? {})) {
    if (typeof router?.rule !== 'string' || typeof router.service !== 'string') {
      problems.push({ router: name, message: 'router needs a rule and a service' });
      continue;
    }
    const syntax = router.ruleSyntax === 'v2' ? 'v2' : 'v3';
    const parsed = parseTcpRule(router.rule, syntax);
    if (!parsed.ok) {
      problems.push({ router: name, message: `rule: ${parsed.error.message}` });
      continue;
    }
    const route: TcpRoute = {
      name,
      rule: compileTcpRule(parsed.ast, syntax),
      priority: router.priority !== undefined && router.priority !== 0 ? router.priority : router.rule.length,
      service: router.service,
      middlewares: router.middlewares ?? [],
      tls: router.tls,
      passthrough: router.tls?.passthrough === true,
    };
    const targets = router.entryPoints?.length ? router.entryPoints : entryPoints;
    for (const ep of targets) {
      const list = lists.get(ep);
      if (list === undefined) {
        problems.push({ router: name, message: `entry point '${ep}' does not exist` });
        continue;
      }
      (route.tls ? list.tls : list.plain).push(route);
    }
  }
  const tables = new Map<string, TcpRouterTable>();
  for (const [ep, list] of lists) {
    tables.set(ep, { tlsRoutes: list.tls.sort(compareRoutes), plainRoutes: list.plain.sort(compareRoutes) });
  }
  return { tables, problems };
}

export function matchRoute(routes: readonly TcpRoute[], view: ConnectionView): TcpRoute | undefined {
  for (const route of routes) if (route.rule.match(view)) return route;
  return undefined;
}

/**
 * True when every plain router can decide without a byte from the client and no TLS router or
 * HTTP wants a look at the first bytes: server-first protocols (SSH, SMTP, MySQL) then work.
 */
export function decidesWithoutPeeking(table: TcpRouterTable | undefined, hasHttp: boolean): boolean {
  return table !== undefined && !hasHttp && table.tlsRoutes.length === 0 && table.plainRoutes.length > 0;
}
