// headers: custom request/response headers, security headers (HSTS, CSP...) and CORS, as Traefik's headers middleware.
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError, type MiddlewareFactory } from '../context.js';
import { respondText } from '../respond-text.js';
import { applyCorsResponse, corsPolicy, isPreflight, preflightHeaders, requestOrigin } from './cors-a.js';
import { requestAuthority } from './redirect-scheme.js';
import { setHeader } from './response-headers.js';
import { isAllowedHost, isSecureRequest, securePolicy, secureResponseHeaders } from './secure-headers-a.js';

type Config = NonNullable<HttpMiddleware['headers']>;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Header edits as `[lower-case name, value or undefined to remove]`, checked so Node never throws on them. */
function customHeaders(
  map: Record<string, string> | undefined,
  what: string,
): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (const [name, value] of Object.entries(map ?? {})) {
    if (!TOKEN.test(name))
      throw new MiddlewareConfigError(`${what}: invalid header name ${JSON.stringify(name)}`);
    const text = String(value ?? '');
    if (!VALUE.test(text)) throw new MiddlewareConfigError(`${what}: invalid value for header ${name}`);
    out.push([name.toLowerCase(), text === '' ? undefined : text]);
  }
  return out;
}

export const headers: MiddlewareFactory<'headers'> = (config: Config, build) => {
  const what = `headers ${build.name}`;
  const requestEdits = customHeaders(config.customRequestHeaders, `${what}: customRequestHeaders`);
  const responseEdits = customHeaders(config.customResponseHeaders, `${what}: customResponseHeaders`);
  for (const [key, value] of [
    ['contentSecurityPolicy', config.contentSecurityPolicy],
    ['contentSecurityPolicyReportOnly', config.contentSecurityPolicyReportOnly],
    ['customFrameOptionsValue', config.customFrameOptionsValue],
    ['customBrowserXSSValue', config.customBrowserXSSValue],
    ['referrerPolicy', config.referrerPolicy],
    ['permissionsPolicy', config.permissionsPolicy],
    ['publicKey', config.publicKey],
  ] as const) {
    if (value !== undefined && !VALUE.test(String(value)))
      throw new MiddlewareConfigError(`${what}: invalid ${key}`);
  }
  const cors = corsPolicy(config, build.name);
  const secure = securePolicy(config);
  const wrapsResponse = responseEdits.length > 0 || cors !== null || secure !== null;

  return (next) => (ctx) => {
    const reqHeaders = ctx.req.headers;
    if (cors !== null && isPreflight(ctx.view.method, reqHeaders)) {
      ctx.log.error = 'cors_preflight';
      return ctx.respond(200, preflightHeaders(cors, reqHeaders), null);
    }
    // Empty values remove the header upstream (`undefined`), as Traefik's `Header.Del`.
    for (const [name, value] of requestEdits) ctx.upstreamHeaders[name] = value;

    if (wrapsResponse) {
      const inner = ctx.respond;
      const securityHeaders = secure
        ? secureResponseHeaders(secure, isSecureRequest(secure, ctx.scheme, reqHeaders))
        : [];
      const origin = requestOrigin(reqHeaders);
      // Order as in Traefik: security headers first, then custom ones (which may override them), then CORS.
      ctx.respond = (status, head, body) => {
        const out = { ...head };
        for (const [name, value] of securityHeaders) setHeader(out, name, value);
        for (const [name, value] of responseEdits) setHeader(out, name, value);
        if (cors !== null) applyCorsResponse(cors, origin, out);
        return inner(status, out, body);
      };
    }
    if (secure !== null && !isAllowedHost(secure, requestAuthority(ctx), reqHeaders)) {
      ctx.log.error = 'bad_host';
      return respondText(ctx, 500, 'Bad Host');
    }
    return next(ctx);
  };
};
