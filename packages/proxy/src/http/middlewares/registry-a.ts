// The middlewares of part A by configuration key, for the runtime to combine with the others.
import type { HttpMiddleware } from '@berth/config';
import type { MiddlewareFactory } from '../context.js';
import { addPrefix } from './add-prefix.js';
import { basicAuth } from './basic-auth.js';
import { headers } from './headers.js';
import { ipAllowList } from './ip-allow-list.js';
import { redirectRegex } from './redirect-regex.js';
import { redirectScheme } from './redirect-scheme.js';
import { replacePath } from './replace-path.js';
import { replacePathRegex } from './replace-path-regex.js';
import { stripPrefix } from './strip-prefix.js';
import { stripPrefixRegex } from './strip-prefix-regex.js';

/** Each factory is typed for its own key; the map is read by key, so the widening is sound. */
function entry<K extends keyof HttpMiddleware>(factory: MiddlewareFactory<K>): MiddlewareFactory {
  return factory as unknown as MiddlewareFactory;
}

export const middlewaresA: Partial<Record<keyof HttpMiddleware, MiddlewareFactory>> = {
  redirectScheme: entry(redirectScheme),
  redirectRegex: entry(redirectRegex),
  stripPrefix: entry(stripPrefix),
  stripPrefixRegex: entry(stripPrefixRegex),
  addPrefix: entry(addPrefix),
  replacePath: entry(replacePath),
  replacePathRegex: entry(replacePathRegex),
  headers: entry(headers),
  basicAuth: entry(basicAuth),
  ipAllowList: entry(ipAllowList),
};
