// stripPrefixRegex: removes the first regex match found at the start of the path, into X-Forwarded-Prefix.
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError, type MiddlewareFactory } from '../context.js';
import { compileGoRegex } from './go-regex-a.js';
import { addUpstreamHeader, rewritePath, splitTarget } from './path-rewrite-a.js';

type Config = NonNullable<HttpMiddleware['stripPrefixRegex']>;

export const stripPrefixRegex: MiddlewareFactory<'stripPrefixRegex'> = (config: Config, build) => {
  if (!Array.isArray(config.regex)) {
    throw new MiddlewareConfigError(`stripPrefixRegex ${build.name}: regex must be a list of patterns`);
  }
  const expressions = config.regex.map((r) =>
    compileGoRegex(String(r).trim(), `stripPrefixRegex ${build.name}`),
  );
  return (next) => (ctx) => {
    const { path } = splitTarget(ctx.target);
    for (const re of expressions) {
      const prefix = re.exec(path)?.[0];
      // As Traefik: the first match must be non-empty and sit at the start of the path.
      if (prefix === undefined || prefix === '' || !path.startsWith(prefix)) continue;
      rewritePath(ctx, path.slice(prefix.length));
      addUpstreamHeader(ctx, 'x-forwarded-prefix', prefix);
      break;
    }
    return next(ctx);
  };
};
