// chain: a named list of middlewares applied in order, as one middleware.
import type { Handler, MiddlewareFactory } from '../context.js';

/**
 * `resolve` builds each name (and is where unknown names and cycles are refused), so a chain
 * that cannot be built throws here and disables only the routers using it.
 */
export const chain: MiddlewareFactory<'chain'> = (config, build) => {
  const parts = config.middlewares.map((name) => build.resolve(name));
  // The first listed sees the request first: it must wrap all the others.
  return (next: Handler) => parts.reduceRight<Handler>((inner, middleware) => middleware(inner), next);
};
