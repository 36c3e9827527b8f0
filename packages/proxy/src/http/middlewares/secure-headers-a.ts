// Security headers for the headers middleware (HSTS, frame options, CSP...), as Traefik's unrolled/secure sets them.
import type { IncomingHttpHeaders } from 'node:http';
import type { HeadersMiddleware } from '@berth/config';

export interface SecurePolicy {
  allowedHosts: readonly string[];
  hostsProxyHeaders: readonly string[];
  sslProxyHeaders: readonly [string, string][];
  isDevelopment: boolean;
  /** Headers that do not depend on the request. */
  fixed: readonly [string, string][];
  /** Strict-Transport-Security value, when HSTS is on. */
  sts: string | null;
  forceSts: boolean;
  publicKey: string | null;
}

/** The security part of a headers configuration, or `null` when it sets none (`HasSecureHeadersDefined`). */
export function securePolicy(c: HeadersMiddleware): SecurePolicy | null {
  const defined =
    (c.allowedHosts?.length ?? 0) > 0 ||
    (c.hostsProxyHeaders?.length ?? 0) > 0 ||
    Object.keys(c.sslProxyHeaders ?? {}).length > 0 ||
    (c.stsSeconds ?? 0) !== 0 ||
    c.stsIncludeSubdomains === true ||
    c.stsPreload === true ||
    c.forceSTSHeader === true ||
    c.frameDeny === true ||
    !!c.customFrameOptionsValue ||
    c.contentTypeNosniff === true ||
    c.browserXssFilter === true ||
    !!c.customBrowserXSSValue ||
    !!c.contentSecurityPolicy ||
    !!c.contentSecurityPolicyReportOnly ||
    !!c.publicKey ||
    !!c.referrerPolicy ||
    !!c.permissionsPolicy ||
    c.isDevelopment === true;
  if (!defined) return null;
  const fixed: [string, string][] = [];
  const frame = c.customFrameOptionsValue || (c.frameDeny ? 'DENY' : '');
  if (frame) fixed.push(['x-frame-options', frame]);
  if (c.contentTypeNosniff) fixed.push(['x-content-type-options', 'nosniff']);
  const xss = c.customBrowserXSSValue || (c.browserXssFilter ? '1; mode=block' : '');
  if (xss) fixed.push(['x-xss-protection', xss]);
  if (c.contentSecurityPolicy) fixed.push(['content-security-policy', c.contentSecurityPolicy]);
  if (c.contentSecurityPolicyReportOnly) {
    fixed.push(['content-security-policy-report-only', c.contentSecurityPolicyReportOnly]);
  }
  if (c.referrerPolicy) fixed.push(['referrer-policy', c.referrerPolicy]);
  if (c.permissionsPolicy) fixed.push(['permissions-policy', c.permissionsPolicy]);
  const seconds = Math.trunc(c.stsSeconds ?? 0);
  let sts: string | null = null;
  if (seconds > 0) {
    sts = `max-age=${seconds}`;
    if (c.stsIncludeSubdomains) sts += '; includeSubDomains';
    if (c.stsPreload) sts += '; preload';
  }
  return {
    allowedHosts: c.allowedHosts ?? [],
    hostsProxyHeaders: c.hostsProxyHeaders ?? [],
    sslProxyHeaders: Object.entries(c.sslProxyHeaders ?? {}),
    isDevelopment: c.isDevelopment === true,
    fixed,
    sts,
    forceSts: c.forceSTSHeader === true,
    publicKey: c.publicKey || null,
  };
}

function single(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** Whether the request came over TLS: the entry point's scheme, or a configured proxy header with its value. */
export function isSecureRequest(policy: SecurePolicy, scheme: string, headers: IncomingHttpHeaders): boolean {
  if (scheme === 'https') return true;
  return policy.sslProxyHeaders.some(([name, value]) => single(headers[name.toLowerCase()]) === value);
}

/**
 * Whether the request's host is allowed: the first non-empty `hostsProxyHeaders` header, else the
 * Host as sent (port included), compared case-insensitively. Always true in development mode.
 */
export function isAllowedHost(
  policy: SecurePolicy,
  authority: string,
  headers: IncomingHttpHeaders,
): boolean {
  if (policy.allowedHosts.length === 0 || policy.isDevelopment) return true;
  let host = authority;
  for (const name of policy.hostsProxyHeaders) {
    const value = single(headers[name.toLowerCase()]);
    if (value !== '') {
      host = value;
      break;
    }
  }
  const lower = host.toLowerCase();
  return policy.allowedHosts.some((h) => h.toLowerCase() === lower);
}

/** The security headers one response gets. HSTS and HPKP only over TLS (or forced), never in development. */
export function secureResponseHeaders(policy: SecurePolicy, secure: boolean): [string, string][] {
  const out = [...policy.fixed];
  if (policy.sts !== null && (secure || policy.forceSts) && !policy.isDevelopment) {
    out.unshift(['strict-transport-security', policy.sts]);
  }
  if (policy.publicKey !== null && secure && !policy.isDevelopment)
    out.push(['public-key-pins', policy.publicKey]);
  return out;
}
