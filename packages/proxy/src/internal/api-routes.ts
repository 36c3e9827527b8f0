// `api@internal`'s paths as Traefik's API router has them (`/api/...`, `/api/version`, the dashboard's
// `/` redirect): pure, a request target in, a status, headers and body out.
import { type ApiView, overview, rawData } from './api-view.js';
import { DASHBOARD_HTML, DASHBOARD_JS } from './dashboard-page.js';

export interface ApiAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What `/api/version` says (Traefik: `Version`, `Codename`, `startDate`). */
export interface VersionInfo {
  Version: string;
  Codename: string;
  startDate: string;
}

const JSON_TYPE = 'application/json';
const DEFAULT_PER_PAGE = 100;

/** Traefik's dashboard header, narrowed: this page loads nothing but itself and the API. */
const DASHBOARD_CSP = "default-src 'self'; frame-ancestors 'self'";

/**
 * The answer of the API (with the dashboard) to `GET target`. `view` is asked for only when the path
 * needs it. `forwardedPrefix`: the X-Forwarded-Prefix header, for the `/` redirect as Traefik does.
 */
export function apiAnswer(
  method: string,
  target: string,
  view: () => ApiView | undefined,
  version: VersionInfo,
  forwardedPrefix?: string,
): ApiAnswer {
  const url = new URL(target, 'http://node.invalid');
  const path = url.pathname;
  if (method !== 'GET' && method !== 'HEAD') {
    return {
      status: 405,
      headers: { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' },
      body: '',
    };
  }
  if (path === '/' || path === '/dashboard') return redirect(`${prefixOf(forwardedPrefix)}/dashboard/`);
  if (path.startsWith('/dashboard/')) return dashboardAnswer(path.slice('/dashboard'.length));
  if (path === '/api/version') return json(200, version);
  if (!path.startsWith('/api/')) return notFound();
  const v = view();
  if (v === undefined) return error(503, 'no configuration applied yet');
  const parts = path.slice('/api/'.length).split('/');
  const query = url.searchParams;
  const [a, b, c, ...rest] = parts;
  if (rest.length > 0) return notFound();
  if (parts.length === 1) {
    if (a === 'rawdata') return json(200, rawData(v));
    if (a === 'overview') return json(200, overview(v));
    if (a === 'entrypoints') return list(v.entryPoints, query);
    return notFound();
  }
  if (a === 'entrypoints' && c === undefined) return one(v.entryPoints, b ?? '', 'entry point');
  const section = sectionOf(v, a, b);
  if (section === undefined) return notFound();
  if (c === undefined) return list(filtered(section.list, query), query);
  return one(section.list, c, section.noun);
}

/** `dashboard@internal` as Traefik mounts it, behind a stripPrefix of `/dashboard`: the page at `/`. */
export function dashboardAnswer(path: string): ApiAnswer {
  const headers = { 'content-security-policy': DASHBOARD_CSP, 'x-content-type-options': 'nosniff' };
  if (path === '/' || path === '')
    return {
      status: 200,
      headers: { ...headers, 'content-type': 'text/html; charset=utf-8' },
      body: DASHBOARD_HTML,
    };
  if (path === '/dashboard.js')
    return {
      status: 200,
      headers: { ...headers, 'content-type': 'text/javascript; charset=utf-8' },
      body: DASHBOARD_JS,
    };
  return notFound();
}

function sectionOf(
  v: ApiView,
  kind: string | undefined,
  element: string | undefined,
): { list: Record<string, unknown>[]; noun: string } | undefined {
  if (kind === 'http') {
    if (element === 'routers') return { list: v.routers, noun: 'router' };
    if (element === 'services') return { list: v.services, noun: 'service' };
    if (element === 'middlewares') return { list: v.middlewares, noun: 'middleware' };
  }
  if (kind === 'tcp') {
    if (element === 'routers') return { list: v.tcpRouters, noun: 'TCP router' };
    if (element === 'services') return { list: v.tcpServices, noun: 'TCP service' };
    if (element === 'middlewares') return { list: v.tcpMiddlewares, noun: 'TCP middleware' };
  }
  if (kind === 'udp' && (element === 'routers' || element === 'services'))
    return { list: [], noun: `UDP ${element.slice(0, -1)}` };
  return undefined;
}

/** Traefik's `search` (in the name, rule and service), `status`, `serviceName` and `middlewareName` filters. */
function filtered(items: Record<string, unknown>[], query: URLSearchParams): Record<string, unknown>[] {
  const search = (query.get('search') ?? '').toLowerCase();
  const status = query.get('status') ?? '';
  const serviceName = query.get('serviceName') ?? '';
  const middlewareName = query.get('middlewareName') ?? '';
  return items.filter((e) => {
    if (status !== '' && String(e.status).toLowerCase() !== status.toLowerCase()) return false;
    if (
      search !== '' &&
      ![e.name, e.rule, e.service].some((x) => typeof x === 'string' && x.toLowerCase().includes(search))
    )
      return false;
    if (serviceName !== '') {
      const service = String(e.service ?? '');
      const wanted = serviceName.includes('@') ? serviceName : undefined;
      if (wanted !== undefined ? service !== wanted : service.split('@')[0] !== serviceName) return false;
    }
    if (middlewareName !== '' && !(Array.isArray(e.middlewares) && e.middlewares.includes(middlewareName)))
      return false;
    return true;
  });
}

/** A page of `items` (`page`, `per_page`, default 100) with Traefik's `X-Next-Page` header (1 on the last). */
function list(items: unknown[], query: URLSearchParams): ApiAnswer {
  const perPage = intParam(query, 'per_page', DEFAULT_PER_PAGE);
  const page = intParam(query, 'page', 1);
  if (perPage === undefined || page === undefined)
    return error(400, `invalid request: page: ${query.get('page')}, per_page: ${query.get('per_page')}`);
  const start = (page - 1) * perPage;
  if (start !== 0 && start >= items.length)
    return error(400, `invalid request: page: ${page}, per_page: ${perPage}`);
  const next = page * perPage < items.length ? page + 1 : 1;
  const answer = json(200, items.slice(start, start + perPage));
  answer.headers['x-next-page'] = String(next);
  return answer;
}

function one(items: Record<string, unknown>[], rawName: string, noun: string): ApiAnswer {
  let name: string;
  try {
    name = decodeURIComponent(rawName);
  } catch {
    return error(400, `unable to decode ${noun} name ${JSON.stringify(rawName)}`);
  }
  const found = items.find((e) => e.name === name);
  return found === undefined ? error(404, `${noun} not found: ${name}`) : json(200, found);
}

function intParam(query: URLSearchParams, key: string, fallback: number): number | undefined {
  const raw = query.get(key);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function prefixOf(header: string | undefined): string {
  // Traefik keeps a relative prefix only; anything with a scheme or host could send users elsewhere.
  if (header === undefined || !header.startsWith('/') || header.startsWith('//') || header.includes('\\'))
    return '';
  return header.replace(/\/+$/, '');
}

function json(status: number, value: unknown): ApiAnswer {
  return { status, headers: { 'content-type': JSON_TYPE }, body: `${JSON.stringify(value)}\n` };
}

function error(status: number, message: string): ApiAnswer {
  return json(status, { message });
}

function redirect(location: string): ApiAnswer {
  return { status: 302, headers: { location, 'content-type': 'text/html; charset=utf-8' }, body: '' };
}

function notFound(): ApiAnswer {
  return {
    status: 404,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: '404 page not found\n',
  };
}
