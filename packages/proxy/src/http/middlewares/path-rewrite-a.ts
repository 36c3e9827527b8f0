// Shared by the path-rewriting middlewares: split the target, write a new path, note what changed upstream.
import type { RequestContext } from '../context.js';

/** The raw path of an origin-form target and its query part (with its `?`, or empty). */
export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q) };
}

/** Percent-encodes what may not stand in an origin-form path (spaces, `?`, `#`, controls, non-ASCII). */
export function encodePath(path: string): string {
  return path.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (ch) => encodeURIComponent(ch));
}

/** Go's `ensureLeadingSlash`, except that an empty path becomes `/`, as it goes on the wire. */
export function withLeadingSlash(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Replaces the path of `ctx.target` (keeping its query) and `ctx.view.path` together, so later
 * middlewares and the forwarder agree. `view.path` keeps the form it had: raw, or decoded.
 */
export function rewritePath(ctx: RequestContext, rawPath: string): void {
  const { path: oldRaw, query } = splitTarget(ctx.target);
  const wasDecoded = ctx.view.path !== oldRaw;
  const next = withLeadingSlash(encodePath(rawPath));
  ctx.target = `${next}${query}`;
  ctx.view.path = wasDecoded ? safeDecode(next) : next;
}

/**
 * Adds a value to a request header sent upstream. Traefik uses `Header.Add`, so stacked
 * middlewares each leave their value; here they are joined into one comma-separated header.
 */
export function addUpstreamHeader(ctx: RequestContext, name: string, value: string): void {
  const key = name.toLowerCase();
  const prior = ctx.upstreamHeaders[key];
  ctx.upstreamHeaders[key] = prior === undefined || prior === '' ? value : `${prior}, ${value}`;
}
