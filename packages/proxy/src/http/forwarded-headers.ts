// Rewrites headers between client and server: drops hop-by-hop ones, sets X-Forwarded-* and X-Real-Ip. Pure.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { ForwardedTrust } from './entry-point-settings.js';

/**
 * RFC 9110 §7.6.1 connection-specific headers, plus Proxy-Connection, and the Proxy-Authorization
 * / Proxy-Authenticate pair Go's reverse proxy (and so Traefik) also drops, since they are for this hop.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
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

/** Forwarded headers a client may only set through a trusted proxy (Traefik's list, plus X-Forwarded-Prefix). */
export const FORWARDED: ReadonlySet<string> = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-forwarded-prefix',
  'x-forwarded-tls-client-cert',
  'x-forwarded-tls-client-cert-info',
  'x-real-ip',
]);

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
  /** Address of the connection's peer, appended to X-Forwarded-For and the default X-Real-Ip. */
  peerIp: string;
  /** Scheme the client used. */
  proto: 'http' | 'https';
  /** Host header the client sent, if any. */
  host: string | undefined;
  /** When set, sent as the Host header; otherwise the server's own host is used. */
  upstreamHost: string | undefined;
  /** Keep the client's X-Forwarded-* and X-Real-Ip (the peer is a trusted proxy). */
  trusted: boolean;
  /** X-Forwarded-Server: this node's name; omitted when empty. */
  serverName: string;
  /** For an Upgrade request: the protocol to ask the server for (Connection and Upgrade are kept). */
  upgrade?: string;
  /**
   * Headers to set, each in place of the first of the same name (new ones last); `undefined`
   * removes one. Lower-case names.
   */
  overrides?: Readonly<Record<string, string | undefined>>;
}

/**
 * Builds the upstream request headers as a flat `[name, value, ...]` list from Node's
 * `rawHeaders`, which keeps duplicates and the client's spelling. Host comes first, then the
 * forwarded headers, then the client's: a server that keeps only its first N headers
 * (node:http, Express: 1,000) still sees who the client is and where it asked to go.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], ctx: ForwardContext): string[] {
  const named = connectionValues(rawHeaders);
  const client: string[] = [];
  let priorFor: string | undefined;
  let proto: string | undefined;
  let host: string | undefined;
  let port: string | undefined;
  let realIp: string | undefined;
  let teTrailers = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (FORWARDED.has(lower)) {
      if (!ctx.trusted) continue;
      if (lower === 'x-forwarded-for') priorFor = priorFor === undefined ? value : `${priorFor}, ${value}`;
      else if (lower === 'x-forwarded-proto') proto ??= value;
      else if (lower === 'x-forwarded-host') host ??= value;
      else if (lower === 'x-forwarded-port') port ??= value;
      else if (lower === 'x-real-ip') realIp ??= value;
      else client.push(name, value);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || lower === 'host' || lower === 'expect' || named.has(lower)) {
      // As Go's reverse proxy: `te: trailers` goes on (gRPC servers require it), other TE values do not.
      if (lower === 'te' && !teTrailers && /(^|,)\s*trailers\s*(,|;|$)/i.test(value)) teTrailers = true;
      continue;
    }
    client.push(name, value);
  }
  if (teTrailers) client.push('te', 'trailers');
  const out: string[] = [];
  if (ctx.upstreamHost !== undefined) out.push('host', ctx.upstreamHost);
  out.push('x-forwarded-for', priorFor === undefined ? ctx.peerIp : `${priorFor}, ${ctx.peerIp}`);
  const forwardedProto = proto ?? ctx.proto;
  out.push('x-forwarded-proto', forwardedProto);
  const forwardedHost = host ?? ctx.host;
  if (forwardedHost !== undefined) out.push('x-forwarded-host', forwardedHost);
  out.push('x-forwarded-port', port ?? portOf(ctx.host, forwardedProto));
  if (ctx.serverName !== '') out.push('x-forwarded-server', ctx.serverName);
  out.push('x-real-ip', realIp ?? ctx.peerIp);
  if (ctx.upgrade !== undefined) out.push('connection', 'upgrade', 'upgrade', ctx.upgrade);
  for (let i = 0; i < client.length; i++) out.push(client[i]!);
  return ctx.overrides === undefined ? out : override(out, ctx.overrides);
}

function override(headers: string[], overrides: Readonly<Record<string, string | undefined>>): string[] {
  let names: Map<string, string> | undefined;
  for (const name in overrides) {
    names ??= new Map();
    names.set(name.toLowerCase(), name);
  }
  if (names === undefined) return headers;
  const out: string[] = [];
  const done = new Set<string>();
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const lower = headers[i]!.toLowerCase();
    const name = names.get(lower);
    if (name === undefined) {
      out.push(headers[i]!, headers[i + 1]!);
      continue;
    }
    if (done.has(lower)) continue;
    done.add(lower);
    const value = overrides[name];
    if (value !== undefined) out.push(name, value);
  }
  for (const [lower, name] of names) {
    const value = overrides[name];
    if (!done.has(lower) && value !== undefined) out.push(name, value);
  }
  return out;
}

/**
 * The port in the Host header, else the scheme's default, as Traefik fills X-Forwarded-Port: the
 * port the client dialled, which behind a port mapping is not the one this process listens on.
 */
function portOf(host: string | undefined, proto: string): string {
  if (host !== undefined) {
    const close = host.lastIndexOf(']');
    const colon = host.lastIndexOf(':');
    if (colon > close && colon < host.length - 1) return host.slice(colon + 1);
  }
  return proto === 'https' || proto === 'wss' ? '443' : '80';
}

/** The server's response headers minus hop-by-hop ones; repeated headers (Set-Cookie) stay arrays. */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const connection = headers.connection;
  const named = connection === undefined || isPlain(connection) ? undefined : connectionTokens(connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * `downstreamResponseHeaders` from undici's raw `[name, value, ...]` buffers in one pass: lower-case
 * names, a repeated header as an array (Set-Cookie), hop-by-hop headers and those the Connection
 * header names left out. Common names are found without allocating (`knownHeaderName`).
 */
export function downstreamRawHeaders(raw: readonly Buffer[]): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  let connection: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const nameBytes = raw[i]!;
    const name = knownHeaderName(nameBytes) ?? nameBytes.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    if (HOP_BY_HOP.has(name)) {
      if (name === 'connection' && !isPlain(value)) {
        connection ??= [];
        connection.push(value);
      }
      continue;
    }
    if (!Object.hasOwn(out, name)) {
      // A plain assignment to `__proto__` would set the prototype instead.
      if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true });
      else out[name] = value;
    } else {
      const prior = out[name]!;
      if (typeof prior === 'string') out[name] = [prior, value];
      else prior.push(value);
    }
  }
  if (connection !== undefined) for (const token of connectionTokens(connection)) delete out[token];
  return out;
}

/** Response header names servers send on most answers, lower-case. */
const COMMON_RESPONSE_HEADERS = [
  'accept-ranges',
  'access-control-allow-origin',
  'age',
  'alt-svc',
  'cache-control',
  'connection',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-length',
  'content-security-policy',
  'content-type',
  'date',
  'etag',
  'expires',
  'keep-alive',
  'last-modified',
  'link',
  'location',
  'pragma',
  'server',
  'set-cookie',
  'strict-transport-security',
  'transfer-encoding',
  'vary',
  'via',
  'www-authenticate',
  'x-content-type-options',
  'x-frame-options',
  'x-powered-by',
];

/** Candidates by length, first and last byte (ASCII-lower-cased): usually one. */
const COMMON_BY_KEY = new Map<number, string[]>();
for (const name of COMMON_RESPONSE_HEADERS) {
  const key = name.length * 65536 + name.charCodeAt(0) * 256 + name.charCodeAt(name.length - 1);
  const list = COMMON_BY_KEY.get(key);
  if (list === undefined) COMMON_BY_KEY.set(key, [name]);
  else list.push(name);
}

/**
 * The lower-case string of a common header name, compared byte by byte whatever its case, or
 * `undefined`. Header names are tokens (the parser checked), so `| 0x20` lower-cases letters and
 * leaves `-` and digits alone; the result is only ever one of the list's own strings.
 */
export function knownHeaderName(bytes: Uint8Array): string | undefined {
  const length = bytes.length;
  if (length < 2) return undefined;
  const candidates = COMMON_BY_KEY.get(
    length * 65536 + (bytes[0]! | 0x20) * 256 + (bytes[length - 1]! | 0x20),
  );
  if (candidates === undefined) return undefined;
  next: for (const candidate of candidates) {
    for (let j = 1; j < length - 1; j++) {
      if ((bytes[j]! | 0x20) !== candidate.charCodeAt(j)) continue next;
    }
    return candidate;
  }
  return undefined;
}

/** True when the peer's forwarded headers are to be believed. */
export function isTrusted(peerIp: string, trust: ForwardedTrust): boolean {
  return trust.insecure || trust.trustedIPs?.contains(peerIp) === true;
}

/**
 * The client behind a trusted peer: the right-most X-Forwarded-For entry that is not itself a
 * trusted proxy, as Traefik's depth-less strategy. An entry that is not an address ends the walk,
 * and the peer is used: a forged list must not produce a made-up client.
 */
export function forwardedClientIp(
  peerIp: string,
  xff: string | string[] | undefined,
  trust: ForwardedTrust,
): string {
  if (xff === undefined) return peerIp;
  const entries = (typeof xff === 'string' ? xff : xff.join(',')).split(',');
  let candidate = peerIp;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!.trim();
    if (entry === '') continue;
    if (isIP(entry) === 0) return peerIp;
    candidate = entry;
    if (trust.trustedIPs === null || !trust.trustedIPs.contains(entry)) return entry;
  }
  return candidate;
}

/** `keep-alive` or `close` alone, by far the usual values, name no other header. */
export function isPlain(connection: string | readonly string[]): boolean {
  if (typeof connection !== 'string') return false;
  const lower = connection.length === 10 || connection.length === 5 ? connection.toLowerCase() : '';
  return lower === 'keep-alive' || lower === 'close';
}

function connectionValues(rawHeaders: readonly string[]): Set<string> | ReadonlySet<string> {
  let values: string[] | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    const value = rawHeaders[i + 1]!;
    if (isPlain(value)) continue;
    values ??= [];
    values.push(value);
  }
  return values === undefined ? EMPTY : connectionTokens(values);
}

const EMPTY: ReadonlySet<string> = new Set();
