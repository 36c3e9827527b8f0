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
  const re = compileGoRegex(config.regex, `replacePathRegex ${build.name}`);
  const replacement = config.replacement;
  return (next) => (ctx) => {
    const { path } = splitTarget(ctx.target);
    // Traefik leaves the request alone when the replacement is empty.
    if (replacement !== '' && re.test(path)) {
      addUpstreamHeader(ctx, 'x-replaced-path', path);
      rewritePath(ctx, re.replaceAll(path, replacement));
    }
    return next(ctx);
  };
};
