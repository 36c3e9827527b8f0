// replacePathRegex: rewrites the path with a Go regex and template, keeping the original in X-Replaced-Path.
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError, type MiddlewareFactory } from '../context.js';
import { compileGoRegex } from './go-regex-a.js';
import { addUpstreamHeader, rewritePath, splitTarget } from './path-rewrite-a.js';

type Config = NonNullable<HttpMiddleware['replacePathRegex']>;

export const replacePathRegex: MiddlewareFactory<'replacePathRegex'> = (config: Config, build) => {
  if (typeof config.regex !== 'string' || typeof config.replacement !== 'string') {
    throw new MiddlewareConfigError(`replacePathRegex ${build.name}: regex and replacement must be strings`);
  }
  // Traefik trims both, since labels and YAML often carry stray spaces.
  const re = compileGoRegex(config.regex.trim(), `replacePathRegex ${build.name}`);
  const replacement = config.replacement.trim();
  return (next) => (ctx) => {
    const { path } = splitTarget(ctx.target);
    // An empty replacement deletes what matched, as in Traefik v3.
    if (re.test(path)) {
      addUpstreamHeader(ctx, 'x-replaced-path', path);
      rewritePath(ctx, re.replaceAll(path, replacement));
    }
    return next(ctx);
  };
};
