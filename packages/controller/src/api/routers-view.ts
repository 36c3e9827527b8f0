// The API's router lists: the compiled routers plus those a provider dropped (a rule that does not parse...), shown by their errors.
import type { ConfigError } from '@berth/config';
import type { RouterStatus, TcpRouterStatus } from '../compiler/compile-result.js';

/** A router the sources define but validation dropped: only its name and errors are known. */
export interface ErroredRouter {
  name: string;
  status: 'error';
  errors: ConfigError[];
}

export type RouterListItem = RouterStatus | (Omit<RouterStatus, 'status'> & ErroredRouter);
export type TcpRouterListItem = TcpRouterStatus | (Omit<TcpRouterStatus, 'status'> & ErroredRouter);

/**
 * The router name an error's path names (`http.routers.NAME.rule` → `NAME`), or null. Providers
 * may spell schema keys as written (`HTTP.Routers.`); names keep their case.
 */
export function routerNameOf(path: string, prefix: 'http.routers.' | 'tcp.routers.'): string | null {
  if (path.slice(0, prefix.length).toLowerCase() !== prefix) return null;
  const rest = path.slice(prefix.length);
  const end = rest.search(/[.[]/);
  const name = end < 0 ? rest : rest.slice(0, end);
  return name === '' ? null : name;
}

/** Names with errors but no status entry, in name order, each with its errors. */
function dropped(
  known: ReadonlySet<string>,
  errors: readonly ConfigError[],
  prefix: 'http.routers.' | 'tcp.routers.',
): Map<string, ConfigError[]> {
  const out = new Map<string, ConfigError[]>();
  for (const e of errors) {
    const written = routerNameOf(e.path, prefix);
    // Providers name their routers as written (`web`); the compiler's names carry the provider (`web@docker`).
    const name =
      written === null || written.includes('@') || e.source === undefined
        ? written
        : `${written}@${e.source.provider}`;
    if (name === null || known.has(name)) continue;
    const list = out.get(name) ?? [];
    list.push(e);
    out.set(name, list);
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * `routers` plus one `status: 'error'` entry (from `blank`) for each router under `prefix` that
 * only the errors name, sorted by name.
 */
function withDropped<T extends { name: string }>(
  routers: readonly T[],
  errors: readonly ConfigError[],
  prefix: 'http.routers.' | 'tcp.routers.',
  blank: (name: string, errs: ConfigError[]) => T,
): T[] {
  const extra = dropped(new Set(routers.map((r) => r.name)), errors, prefix);
  if (extra.size === 0) return [...routers];
  return [...routers, ...[...extra].map(([name, errs]) => blank(name, errs))].sort(byName);
}

const errorFields = (errs: ConfigError[]) => ({
  status: 'error' as const,
  errors: errs,
  ...(errs[0]?.source === undefined ? {} : { source: errs[0].source }),
});

export function routersView(
  routers: readonly RouterStatus[],
  errors: readonly ConfigError[],
): RouterListItem[] {
  return withDropped<RouterListItem>(routers, errors, 'http.routers.', (name, errs) => ({
    name,
    rule: '',
    service: '',
    entryPoints: [],
    tlsEntryPoints: [],
    middlewares: [],
    priority: 0,
    ...errorFields(errs),
  }));
}

export function tcpRoutersView(
  routers: readonly TcpRouterStatus[],
  errors: readonly ConfigError[],
): TcpRouterListItem[] {
  return withDropped<TcpRouterListItem>(routers, errors, 'tcp.routers.', (name, errs) => ({
    name,
    rule: '',
    service: '',
    entryPoints: [],
    middlewares: [],
    priority: 0,
    tls: 'none',
    ...errorFields(errs),
  }));
}
