// Sticky sessions by cookie: which target a request's cookie names, and the Set-Cookie that pins one.
import { createHash } from 'node:crypto';
import type { StickyCookie } from '@berth/config';

/** Traefik's default cookie name: `_` and the first 6 hex digits of sha1(service name). */
export function defaultCookieName(service: string): string {
  return `_${createHash('sha1').update(service).digest('hex').slice(0, 6)}`;
}

/**
 * The cookie value for a target: a hash of its key (server URL, or child service name), stable
 * across nodes and snapshots so any node honours any other's cookie, and never the raw address,
 * which would tell clients the internal topology.
 */
export function stickyValue(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** The value of cookie `name` in a Cookie header (several headers are joined by HTTP/2 clients). */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') {
    for (const one of header) {
      const found = readCookie(one, name);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  let from = 0;
  // A Cookie header holds a handful of pairs; the bound only guards against pathological input.
  for (let guard = 0; guard < 4096; guard++) {
    const at = header.indexOf(name, from);
    if (at < 0) return undefined;
    const end = at + name.length;
    if (header.charCodeAt(end) === 61 /* = */ && isPairStart(header, at)) {
      const semi = header.indexOf(';', end + 1);
      const value = (semi < 0 ? header.slice(end + 1) : header.slice(end + 1, semi)).trim();
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    }
    from = end;
  }
  return undefined;
}

function isPairStart(header: string, at: number): boolean {
  for (let i = at - 1; i >= 0; i--) {
    const c = header.charCodeAt(i);
    if (c === 59 /* ; */) return true;
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** A Set-Cookie header value with the configured attributes. */
export function setCookieHeader(name: string, value: string, cfg: StickyCookie): string {
  let out = `${name}=${value}; Path=${cfg.path || '/'}`;
  if (cfg.domain) out += `; Domain=${cfg.domain}`;
  if (cfg.maxAge !== undefined && cfg.maxAge !== 0)
    out += `; Max-Age=${cfg.maxAge > 0 ? Math.floor(cfg.maxAge) : 0}`;
  if (cfg.httpOnly) out += '; HttpOnly';
  if (cfg.secure) out += '; Secure';
  if (cfg.sameSite) out += `; SameSite=${cfg.sameSite[0]!.toUpperCase()}${cfg.sameSite.slice(1)}`;
  return out;
}

/**
 * One service's sticky cookie, compiled once per snapshot: the value → target map and each
 * target's Set-Cookie header are precomputed, so a request does one header scan and one lookup.
 */
export class StickySessions<T> {
  readonly name: string;
  readonly #byValue = new Map<string, T>();
  readonly #setCookie = new Map<T, string>();

  constructor(owner: string, cfg: StickyCookie, items: readonly T[], key: (item: T) => string) {
    this.name = cfg.name || defaultCookieName(owner);
    for (const item of items) {
      const value = stickyValue(key(item));
      this.#byValue.set(value, item);
      this.#setCookie.set(item, setCookieHeader(this.name, value, cfg));
    }
  }

  /** The target the request's cookie names, if that target is still in this service. */
  find(cookieHeader: string | string[] | undefined): T | undefined {
    const value = readCookie(cookieHeader, this.name);
    return value === undefined ? undefined : this.#byValue.get(value);
  }

  /** The Set-Cookie header value that pins `item`. */
  setCookie(item: T): string {
    return this.#setCookie.get(item) ?? '';
  }
}
