// Rewrites headers between client and server: drops hop-by-hop ones, adds X-Forwarded-*. Pure.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * RFC 9110 §7.6.1 connection-specific headers, plus Proxy-Connection, and the Proxy-Authorization
 * / Proxy-Authenticate pair Go's reverse proxy (and so Traefik) also drops, since they are for this hop.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Headers the proxy sets itself, or that undici refuses to be given verbatim. */
const REQUEST_OWNED = new Set(['host', 'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/** Lower-case header names a message's Connection header lists, which are hop-by-hop for that message. */
export function connectionTokens(values: string | readonly string[] | undefined): Set<string> {
  const tokens = new Set<string>();
  if (values === undefined) return tokens;
  for (const value of typeof values === 'string' ? [values] : values) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') tokens.add(name);
    }
  }
  return tokens;
}

export interface ForwardContext {
  clientIp: string;
  /** Scheme the client used. */
  proto: 'http' | 'https';
  /** Host header the client sent, if any. */
  host: string | undefined;
  /** When set, sent as the Host header; otherwise the server's own host is used. */
  upstreamHost: string | undefined;
}

/**
 * Builds the upstream request headers as a flat `[name, value, ...]` list from Node's
 * `rawHeaders`, which keeps duplicates and the client's spelling.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], ctx: ForwardContext): string[] {
  const named = connectionValues(rawHeaders);
  const out: string[] = [];
  const priorFor: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'x-forwarded-for') priorFor.push(value);
    if (HOP_BY_HOP.has(lower) || REQUEST_OWNED.has(lower) || named.has(lower)) continue;
    out.push(name, value);
  }
  if (ctx.upstreamHost !== undefined) out.push('host', ctx.upstreamHost);
  priorFor.push(ctx.clientIp);
  out.push('x-forwarded-for', priorFor.join(', '));
  out.push('x-forwarded-proto', ctx.proto);
  if (ctx.host !== undefined) out.push('x-forwarded-host', ctx.host);
  return out;
}

/** The server's response headers minus hop-by-hop ones; repeated headers (Set-Cookie) stay arrays. */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function connectionValues(rawHeaders: readonly string[]): Set<string> {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') values.push(rawHeaders[i + 1]!);
  }
  return connectionTokens(values);
}
