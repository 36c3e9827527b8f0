// The factories of rateLimit, inFlightReq, retry, compress, buffering and chain, by configuration key.
import type { HttpMiddleware } from '@berth/config';
import type { MiddlewareFactory } from '../context.js';
import { buffering } from './buffering.js';
import { chain } from './chain.js';
import { compress } from './compress.js';
import { inFlightReq } from './in-flight-req.js';
import { rateLimit } from './rate-limit.js';
import { retry } from './retry.js';

/** Each factory is only ever called with its own key's configuration, which the registry cannot express. */
function entry<K extends keyof HttpMiddleware>(factory: MiddlewareFactory<K>): MiddlewareFactory {
  return factory as unknown as MiddlewareFactory;
}

export const middlewaresB: Partial<Record<keyof HttpMiddleware, MiddlewareFactory>> = {
  rateLimit: entry(rateLimit),
  inFlightReq: entry(inFlightReq),
  retry: entry(retry),
  compress: entry(compress),
  buffering: entry(buffering),
  chain: entry(chain),
};
