// Every middleware kind Berth implements, by its configuration key.
import type { HttpMiddleware } from '@berth/config';
import type { MiddlewareFactory } from '../context.js';
import { addPrefix } from './add-prefix.js';
import { basicAuth } from './basic-auth.js';
import { buffering } from './buffering.js';
import { chain } from './chain.js';
import { circuitBreaker } from './circuit-breaker.js';
import { compress } from './compress.js';
import { contentType } from './content-type.js';
import { digestAuth } from './digest-auth.js';
import { errors } from './error-pages.js';
import { forwardAuth } from './forward-auth.js';
import { grpcWeb } from './grpc-web.js';
import { headers } from './headers.js';
import { inFlightReq } from './in-flight-req.js';
import { ipAllowList } from './ip-allow-list.js';
import { passTLSClientCert } from './pass-tls-client-cert.js';
import { rateLimit } from './rate-limit.js';
import { redirectRegex } from './redirect-regex.js';
import { redirectScheme } from './redirect-scheme.js';
import { replacePath } from './replace-path.js';
import { replacePathRegex } from './replace-path-regex.js';
import { retry } from './retry.js';
import { stripPrefix } from './strip-prefix.js';
import { stripPrefixRegex } from './strip-prefix-regex.js';

/** Each factory is only ever called with its own key's configuration, which the map's type cannot express. */
function entry<K extends keyof HttpMiddleware>(factory: MiddlewareFactory<K>): MiddlewareFactory {
  return factory as unknown as MiddlewareFactory;
}

export const middlewareFactories: Partial<Record<keyof HttpMiddleware, MiddlewareFactory>> = {
  redirectScheme: entry(redirectScheme),
  redirectRegex: entry(redirectRegex),
  stripPrefix: entry(stripPrefix),
  stripPrefixRegex: entry(stripPrefixRegex),
  addPrefix: entry(addPrefix),
  replacePath: entry(replacePath),
  replacePathRegex: entry(replacePathRegex),
  headers: entry(headers),
  basicAuth: entry(basicAuth),
  digestAuth: entry(digestAuth),
  forwardAuth: entry(forwardAuth),
  ipAllowList: entry(ipAllowList),
  passTLSClientCert: entry(passTLSClientCert),
  rateLimit: entry(rateLimit),
  inFlightReq: entry(inFlightReq),
  retry: entry(retry),
  compress: entry(compress),
  buffering: entry(buffering),
  chain: entry(chain),
  errors: entry(errors),
  circuitBreaker: entry(circuitBreaker),
  contentType: entry(contentType),
  grpcWeb: entry(grpcWeb),
};
