// redirectScheme: sends clients to the same host, path and query on another scheme (and port).
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError, type MiddlewareFactory, type RequestContext } from '../context.js';
import { answerRedirect } from './answer-a.js';

type Config = NonNullable<HttpMiddleware['redirectScheme']>;

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' };

/** The host of the request without its port; an IPv6 literal keeps its brackets. */
export function hostWithoutPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.indexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

/** The authority the client addressed: the absolute-form target's, else the Host header. */
export function requestAuthority(ctx: RequestContext): string {
  const url = ctx.req.url ?? '';
  if (!url.startsWith('/') && url !== '*') {
    try {
      return new URL(url).host;
    } catch {
      // Not absolute-form after all: fall through to the Host header.
    }
  }
  return ctx.req.headers.host ?? ctx.view.host;
}

/** Location for `scheme://host[:port]/target`; the port is left out when it is the scheme's default. */
export function schemeLocation(
  scheme: string,
  port: string | undefined,
  authority: string,
  target: string,
): string {
  const host = hostWithoutPort(authority);
  const portPart = port && port !== DEFAULT_PORTS[scheme] ? `:${port}` : '';
  return `${scheme}://${host}${portPart}${target}`;
}

export const redirectScheme: MiddlewareFactory<'redirectScheme'> = (config: Config, build) => {
  const scheme = (config.scheme ?? '').toLowerCase();
  if (scheme === '')
    throw new MiddlewareConfigError(`redirectScheme ${build.name}: you must provide a target scheme`);
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) {
    throw new MiddlewareConfigError(
      `redirectScheme ${build.name}: invalid scheme ${JSON.stringify(config.scheme)}`,
    );
  }
  const port = config.port === undefined ? undefined : String(config.port);
  if (port !== undefined && port !== '' && !/^\d{1,5}$/.test(port)) {
    throw new MiddlewareConfigError(`redirectScheme ${build.name}: invalid port ${JSON.stringify(port)}`);
  }
  const permanent = config.permanent === true;
  return (next) => (ctx) => {
    if (ctx.scheme === scheme) return next(ctx);
    return answerRedirect(ctx, schemeLocation(scheme, port, requestAuthority(ctx), ctx.target), permanent);
  };
};
