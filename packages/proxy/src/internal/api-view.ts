// A node's applied snapshot in the shape of Traefik's API (`/api/http/routers`, `/api/overview`...):
// pure, built from the body (secrets redacted), the runtime's problems and server health.
import { internalService } from '@berth/config';
import { redactSecrets, type SnapshotBody } from '@berth/protocol';

/** What the view reads of the node besides the body. */
export interface ViewState {
  /** Routers the node left out (a middleware it cannot build), with why. */
  problems: readonly { router: string; error: string }[];
  /** `UP`/`DOWN` by server URL for a loadBalancer service; undefined when the node has no such service. */
  serverStatus(service: string): Record<string, string> | undefined;
}

type Json = Record<string, unknown>;

/** The element collections of the view, each sorted by name, as Traefik's API lists them. */
export interface ApiView {
  entryPoints: Json[];
  routers: Json[];
  services: Json[];
  middlewares: Json[];
  tcpRouters: Json[];
  tcpServices: Json[];
  tcpMiddlewares: Json[];
  features: { tracing: string; metrics: string; accessLog: boolean };
  providers: string[];
}

/**
 * Every element with Traefik's representation fields: `name`, `provider` (the name's qualifier),
 * `status`, `error`, `using` (routers), `usedBy` (services, middlewares), `serverStatus`, `type`.
 * Only what is usable reaches a node (the controller drops the rest), so every element is
 * `enabled` except routers the node itself had to leave out.
 */
export function apiView(body: SnapshotBody, state: ViewState): ApiView {
  // Only these sections, so certificates and ACME answers never come near the view.
  const safe = redactSecrets({ entryPoints: body.entryPoints, http: body.http, tcp: body.tcp });
  const epNames = Object.keys(safe.entryPoints);
  const errorsOf = new Map<string, string[]>();
  for (const p of state.problems) errorsOf.set(p.router, [...(errorsOf.get(p.router) ?? []), p.error]);

  const routers = Object.entries(safe.http.routers).map(([name, r]): Json => {
    const errors = errorsOf.get(name);
    const listed = r.entryPoints?.length ? r.entryPoints : epNames;
    const out: Json = {
      ...r,
      ...(r.tls !== undefined ? { tls: { ...r.tls, options: r.tls.options ?? 'default' } } : {}),
      name,
      provider: providerOf(name),
      status: errors === undefined ? 'enabled' : 'disabled',
      using: listed.filter((ep) => epNames.includes(ep)).sort(),
    };
    if (r.priority !== undefined) out.priorityStr = String(r.priority);
    if (errors !== undefined) out.error = errors;
    return out;
  });

  const serviceUsers = new Map<string, Set<string>>();
  const children = (name: string): string[] => {
    const s = safe.http.services[name];
    if (s?.weighted) return s.weighted.services.map((c) => c.name);
    if (s?.mirroring) return [s.mirroring.service, ...s.mirroring.mirrors.map((m) => m.name)];
    return [];
  };
  for (const [router, r] of Object.entries(safe.http.routers)) {
    const seen = new Set<string>();
    const todo = [r.service];
    for (let s = todo.pop(); s !== undefined; s = todo.pop()) {
      if (seen.has(s)) continue;
      seen.add(s);
      addUser(serviceUsers, s, router);
      todo.push(...children(s));
    }
  }
  const services = Object.entries(safe.http.services).map(([name, s]): Json => {
    const type = s.loadBalancer ? 'loadbalancer' : s.weighted ? 'weighted' : s.mirroring ? 'mirroring' : '';
    const out: Json = { ...s, name, provider: providerOf(name), status: 'enabled', type };
    const usedBy = sortedUsers(serviceUsers, name);
    if (usedBy.length > 0) out.usedBy = usedBy;
    const status = s.loadBalancer ? state.serverStatus(name) : undefined;
    if (status !== undefined) out.serverStatus = status;
    return out;
  });
  // The internal services routers name, as Traefik lists its own (`api@internal`, provider `internal`).
  for (const name of [...serviceUsers.keys()]) {
    if (internalService(name) === undefined) continue;
    services.push({ name, provider: 'internal', status: 'enabled', usedBy: sortedUsers(serviceUsers, name) });
  }

  const middlewareUsers = new Map<string, Set<string>>();
  const middlewareDefs = safe.http.middlewares ?? {};
  for (const [router, r] of Object.entries(safe.http.routers)) {
    const eps = r.entryPoints?.length ? r.entryPoints : epNames;
    const todo = [
      ...eps.flatMap((ep) => safe.entryPoints[ep]?.http?.middlewares ?? []),
      ...(r.middlewares ?? []),
    ];
    const seen = new Set<string>();
    for (let m = todo.pop(); m !== undefined; m = todo.pop()) {
      if (seen.has(m)) continue;
      seen.add(m);
      addUser(middlewareUsers, m, router);
      todo.push(...(middlewareDefs[m]?.chain?.middlewares ?? []));
    }
  }
  const middlewares = Object.entries(middlewareDefs).map(([name, m]): Json => {
    const out: Json = {
      ...m,
      name,
      provider: providerOf(name),
      status: 'enabled',
      type: (Object.keys(m)[0] ?? '').toLowerCase(),
    };
    const usedBy = sortedUsers(middlewareUsers, name);
    if (usedBy.length > 0) out.usedBy = usedBy;
    return out;
  });

  const tcp = safe.tcp;
  const tcpServiceUsers = new Map<string, Set<string>>();
  const tcpMiddlewareUsers = new Map<string, Set<string>>();
  const tcpRouters = Object.entries(tcp?.routers ?? {}).map(([name, r]): Json => {
    addUser(tcpServiceUsers, r.service, name);
    for (const m of r.middlewares ?? []) addUser(tcpMiddlewareUsers, m, name);
    const listed = r.entryPoints?.length ? r.entryPoints : epNames;
    return {
      ...r,
      name,
      provider: providerOf(name),
      status: 'enabled',
      using: listed.filter((ep) => epNames.includes(ep)).sort(),
    };
  });
  const tcpServices = Object.entries(tcp?.services ?? {}).map(([name, s]): Json => {
    const out: Json = {
      ...s,
      name,
      provider: providerOf(name),
      status: 'enabled',
      type: s.loadBalancer ? 'loadbalancer' : 'weighted',
    };
    const usedBy = sortedUsers(tcpServiceUsers, name);
    if (usedBy.length > 0) out.usedBy = usedBy;
    return out;
  });
  const tcpMiddlewares = Object.entries(tcp?.middlewares ?? {}).map(([name, m]): Json => {
    const out: Json = {
      ...m,
      name,
      provider: providerOf(name),
      status: 'enabled',
      type: (Object.keys(m)[0] ?? '').toLowerCase(),
    };
    const usedBy = sortedUsers(tcpMiddlewareUsers, name);
    if (usedBy.length > 0) out.usedBy = usedBy;
    return out;
  });

  const entryPoints = Object.entries(safe.entryPoints).map(([name, ep]): Json => ({ ...ep, name }));
  const providers = new Set<string>();
  for (const list of [routers, services, middlewares, tcpRouters, tcpServices, tcpMiddlewares])
    for (const e of list)
      if (typeof e.provider === 'string' && e.provider !== 'internal') providers.add(e.provider);
  return {
    entryPoints: byName(entryPoints),
    routers: byName(routers),
    services: byName(services),
    middlewares: byName(middlewares),
    tcpRouters: byName(tcpRouters),
    tcpServices: byName(tcpServices),
    tcpMiddlewares: byName(tcpMiddlewares),
    features: { tracing: '', metrics: 'prometheus', accessLog: body.accessLog !== undefined },
    providers: [...providers].sort(),
  };
}

/** `/api/overview`: totals, warnings and errors per section, as Traefik counts them. */
export function overview(view: ApiView): Json {
  const section = (list: Json[]) => ({
    total: list.length,
    warnings: list.filter((e) => e.status === 'warning').length,
    errors: list.filter((e) => e.status === 'disabled').length,
  });
  const none = { total: 0, warnings: 0, errors: 0 };
  return {
    http: {
      routers: section(view.routers),
      services: section(view.services),
      middlewares: section(view.middlewares),
    },
    tcp: {
      routers: section(view.tcpRouters),
      services: section(view.tcpServices),
      middlewares: section(view.tcpMiddlewares),
    },
    udp: { routers: none, services: none },
    features: view.features,
    providers: view.providers,
  };
}

/** `/api/rawdata`: every element by name, without the list-only `name` and `provider`. */
export function rawData(view: ApiView): Json {
  const byKey = (list: Json[]) =>
    Object.fromEntries(list.map(({ name, provider: _provider, ...rest }) => [String(name), rest]));
  const out: Json = {};
  const sections: [string, Json[]][] = [
    ['routers', view.routers],
    ['middlewares', view.middlewares],
    ['services', view.services],
    ['tcpRouters', view.tcpRouters],
    ['tcpMiddlewares', view.tcpMiddlewares],
    ['tcpServices', view.tcpServices],
  ];
  // Traefik leaves empty sections out (`omitempty`).
  for (const [key, list] of sections) if (list.length > 0) out[key] = byKey(list);
  return out;
}

function providerOf(name: string): string {
  const at = name.lastIndexOf('@');
  return at < 0 ? '' : name.slice(at + 1);
}

function addUser(users: Map<string, Set<string>>, name: string, user: string): void {
  const set = users.get(name);
  if (set === undefined) users.set(name, new Set([user]));
  else set.add(user);
}

function sortedUsers(users: Map<string, Set<string>>, name: string): string[] {
  return [...(users.get(name) ?? [])].sort();
}

function byName(list: Json[]): Json[] {
  return list.sort((a, b) =>
    String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0,
  );
}
