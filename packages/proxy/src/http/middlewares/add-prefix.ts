// addPrefix: puts a fixed prefix in front of the path.
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError, type MiddlewareFactory } from '../context.js';
import { rewritePath, splitTarget } from './path-rewrite-a.js';

type Config = NonNullable<HttpMiddleware['addPrefix']>;

export const addPrefix: MiddlewareFactory<'addPrefix'> = (config: Config, build) => {
  const prefix = config.prefix;
  if (typeof prefix !== 'string' || prefix === '') {
    throw new MiddlewareConfigError(`addPrefix ${build.name}: prefix cannot be empty`);
  }
  return (next) => (ctx) => {
    rewritePath(ctx, `${prefix}${splitTarget(ctx.target).path}`);
    return next(ctx);
  };
};
