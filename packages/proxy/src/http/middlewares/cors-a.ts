// CORS for the headers middleware, as Traefik does it: preflights answered here, the rest annotated.
import type { OutgoingHttpHeaders } from 'node:http';
import type { HeadersMiddleware } from '@berth/config';
import { compileGoRegex, type GoRegex } from './go-regex-a.js';
import { headerValue, setHeader } from './response-headers.js';

export interface CorsPolicy {
  credentials: boolean;
  allowHeaders: readonly string[];
  allowMethods: readonly string[];
  origins: readonly string[];
  originRegexes: readonly GoRegex[];
  exposeHeaders: readonly string[];
  maxAge: number;
  addVary: boolean;
}

/** The CORS part of a headers configuration, or `null` when it sets none (Traefik's `HasCorsHeadersDefined`). */
export function corsPolicy(config: HeadersMiddleware, name: string): CorsPolicy | null {
  const defined =
    config.accessControlAllowCredentials === true ||
    (config.accessControlAllowHeaders?.length ?? 0) > 0 ||
    (config.accessControlAllowMethods?.length ?? 0) > 0 ||
    (config.accessControlAllowOriginList?.length ?? 0) > 0 ||
    (config.accessControlAllowOriginListRegex?.length ?? 0) > 0 ||
    (config.accessControlExposeHeaders?.length ?? 0) > 0 ||
    (config.accessControlMaxAge ?? 0) !== 0 ||
    config.addVaryHeader === true;
  if (!defined) return null;
  return {
    credentials: config.accessControlAllowCredentials === true,
    allowHeaders: config.accessControlAllowHeaders ?? [],
    allowMethods: config.accessControlAllowMethods ?? [],
    origins: config.accessControlAllowOriginList ?? [],
    originRegexes: (config.accessControlAllowOriginListRegex ?? []).map((r) =>
      compileGoRegex(r, `headers ${name}: accessControlAllowOriginListRegex`),
    ),
    exposeHeaders: config.accessControlExposeHeaders ?? [],
    maxAge: Math.trunc(config.accessControlMaxAge ?? 0),
    addVary: config.addVaryHeader === true,
  };
}

/**
 * The Access-Control-Allow-Origin value for `origin`, or `null` when it is not allowed. A `*` in
 * the list allows every origin; with credentials it echoes the origin, since browsers refuse `*`
 * on a credentialed response (Traefik does the same since 3.7).
 */
export function allowedOrigin(policy: CorsPolicy, origin: string): string | null {
  for (const item of policy.origins) {
    if (item === '*') return policy.credentials ? (origin === '' ? null : origin) : '*';
    if (item === origin) return origin;
  }
  if (origin !== '') for (const re of policy.originRegexes) if (re.test(origin)) return origin;
  return null;
}

function single(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** An OPTIONS request with Origin and Access-Control-Request-Method. */
export function isPreflight(
  method: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): boolean {
  return (
    method === 'OPTIONS' &&
    single(headers['origin']) !== '' &&
    single(headers['access-control-request-method']) !== ''
  );
}

/** A list that has `*` is echoed from the request when credentials are on, as `*` would be refused then. */
function listOrEcho(policy: CorsPolicy, list: readonly string[], requested: string): string {
  if (policy.credentials && list.includes('*')) return requested;
  return list.join(',');
}

/** The headers of the 200 a preflight gets from the middleware itself. */
export function preflightHeaders(
  policy: CorsPolicy,
  reqHeaders: Readonly<Record<string, string | string[] | undefined>>,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  if (policy.credentials) out['access-control-allow-credentials'] = 'true';
  const allowHeaders = listOrEcho(
    policy,
    policy.allowHeaders,
    single(reqHeaders['access-control-request-headers']),
  );
  if (allowHeaders !== '') out['access-control-allow-headers'] = allowHeaders;
  const allowMethods = listOrEcho(
    policy,
    policy.allowMethods,
    single(reqHeaders['access-control-request-method']),
  );
  if (allowMethods !== '') out['access-control-allow-methods'] = allowMethods;
  const origin = allowedOrigin(policy, single(reqHeaders['origin']));
  if (origin !== null) out['access-control-allow-origin'] = origin;
  if (policy.exposeHeaders.length > 0) out['access-control-expose-headers'] = policy.exposeHeaders.join(',');
  out['access-control-max-age'] = String(policy.maxAge);
  if (policy.addVary) out['vary'] = 'Origin';
  out['content-length'] = 0;
  return out;
}

/** Annotates a normal (non-preflight) response in place. */
export function applyCorsResponse(
  policy: CorsPolicy,
  requestOrigin: string,
  headers: OutgoingHttpHeaders,
): void {
  const origin = allowedOrigin(policy, requestOrigin);
  if (origin !== null) setHeader(headers, 'access-control-allow-origin', origin);
  if (policy.credentials) setHeader(headers, 'access-control-allow-credentials', 'true');
  if (policy.exposeHeaders.length > 0) {
    setHeader(headers, 'access-control-expose-headers', policy.exposeHeaders.join(','));
  }
  if (!policy.addVary) return;
  const vary = headerValue(headers, 'vary') ?? '';
  const tokens = vary.split(',').map((t) => t.trim().toLowerCase());
  if (tokens.includes('origin') || tokens.includes('*')) return;
  setHeader(headers, 'vary', vary.trim() === '' ? 'Origin' : `${vary}, Origin`);
}

export function requestOrigin(headers: Readonly<Record<string, string | string[] | undefined>>): string {
  return single(headers['origin']);
}
