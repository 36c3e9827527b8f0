// redirectRegex: matches the full request URL against a Go regex and redirects to the expanded replacement.
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError, type MiddlewareFactory, type RequestContext } from '../context.js';
import { answerRedirect } from './answer-a.js';
import { compileGoRegex } from './go-regex-a.js';
import { requestAuthority } from './redirect-scheme.js';

type Config = NonNullable<HttpMiddleware['redirectRegex']>;

/** `scheme://host[:port]/path?query`, as Traefik builds the URL the regex sees. */
export function requestUrl(ctx: RequestContext): string {
  return `${ctx.scheme}://${requestAuthority(ctx)}${ctx.target}`;
}

export const redirectRegex: MiddlewareFactory<'redirectRegex'> = (config: Config, build) => {
  if (typeof config.regex !== 'string' || typeof config.replacement !== 'string') {
    throw new MiddlewareConfigError(`redirectRegex ${build.name}: regex and replacement must be strings`);
  }
  const re = compileGoRegex(config.regex, `redirectRegex ${build.name}`);
  const replacement = config.replacement;
  const permanent = config.permanent === true;
  return (next) => (ctx) => {
    const url = requestUrl(ctx);
    if (!re.test(url)) return next(ctx);
    const location = re.replaceAll(url, replacement);
    // A replacement that gives back the same URL is not a redirect (it would loop).
    if (location === url) return next(ctx);
    return answerRedirect(ctx, location, permanent);
  };
};
