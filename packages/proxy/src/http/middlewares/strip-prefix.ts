// stripPrefix: removes the first matching literal prefix from the path and reports it in X-Forwarded-Prefix.
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError, type MiddlewareFactory } from '../context.js';
import { addUpstreamHeader, rewritePath, splitTarget } from './path-rewrite-a.js';

type Config = NonNullable<HttpMiddleware['stripPrefix']>;

/**
 * The path left once `prefix` is cut from `path`. With `forceSlash` (Traefik's default) one
 * leading slash of the rest is dropped and one put back, so the result always starts with `/`;
 * without it a rest that lacks a slash gets one and an empty rest stays empty (sent as `/`).
 */
export function stripLiteralPrefix(path: string, prefix: string, forceSlash: boolean): string {
  const rest = path.slice(prefix.length);
  if (forceSlash) return `/${rest.startsWith('/') ? rest.slice(1) : rest}`;
  if (rest === '' || rest.startsWith('/')) return rest;
  return `/${rest}`;
}

export const stripPrefix: MiddlewareFactory<'stripPrefix'> = (config: Config, build) => {
  const prefixes = config.prefixes ?? [];
  if (!Array.isArray(prefixes) || prefixes.some((p) => typeof p !== 'string')) {
    throw new MiddlewareConfigError(`stripPrefix ${build.name}: prefixes must be a list of strings`);
  }
  const forceSlash = config.forceSlash ?? true;
  return (next) => (ctx) => {
    const { path } = splitTarget(ctx.target);
    for (const prefix of prefixes) {
      if (path.startsWith(prefix)) {
        rewritePath(ctx, stripLiteralPrefix(path, prefix, forceSlash));
        addUpstreamHeader(ctx, 'x-forwarded-prefix', prefix.trim());
        break;
      }
    }
    return next(ctx);
  };
};
