// replacePath: replaces the whole path, keeping the original in X-Replaced-Path.
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError, type MiddlewareFactory } from '../context.js';
import { addUpstreamHeader, rewritePath, splitTarget } from './path-rewrite-a.js';

type Config = NonNullable<HttpMiddleware['replacePath']>;

export const replacePath: MiddlewareFactory<'replacePath'> = (config: Config, build) => {
  if (typeof config.path !== 'string') {
    throw new MiddlewareConfigError(`replacePath ${build.name}: path must be a string`);
  }
  const path = config.path;
  return (next) => (ctx) => {
    addUpstreamHeader(ctx, 'x-replaced-path', splitTarget(ctx.target).path);
    rewritePath(ctx, path);
    return next(ctx);
  };
};
