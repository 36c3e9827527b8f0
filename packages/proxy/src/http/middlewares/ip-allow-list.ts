// ipAllowList: lets through only clients whose address (as the ipStrategy picks it) is in sourceRange.
import { CidrSet, type HttpMiddleware, type IpStrategy } from '@berth/config';
import { MiddlewareConfigError, type MiddlewareFactory, type RequestContext } from '../context.js';
import { respondText } from '../respond-text.js';

type Config = NonNullable<HttpMiddleware['ipAllowList']>;

/** Every X-Forwarded-For entry, left to right, across repeated headers. */
function forwardedFor(ctx: RequestContext): string[] {
  const raw = ctx.req.headers['x-forwarded-for'];
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw.join(',') : raw).split(',').map((s) => s.trim());
}

/**
 * Picks the address to check, as Traefik's strategies do: `depth` entries from the right of
 * X-Forwarded-For (none when the header is shorter); else, with `excludedIPs`, the right-most
 * entry not excluded; else the client address. An empty result is never allowed.
 */
export function clientAddressFor(
  strategy: { depth: number; excluded: CidrSet | null },
  xff: readonly string[],
  clientIp: string,
): string {
  if (strategy.depth > 0) return xff.length < strategy.depth ? '' : (xff[xff.length - strategy.depth] ?? '');
  if (strategy.excluded) {
    for (let i = xff.length - 1; i >= 0; i--) {
      const entry = xff[i] ?? '';
      if (entry !== '' && !strategy.excluded.contains(entry)) return entry;
    }
    return '';
  }
  return clientIp;
}

function parseStrategy(s: IpStrategy | undefined, name: string): { depth: number; excluded: CidrSet | null } {
  const depth = s?.depth ?? 0;
  if (!Number.isInteger(depth) || depth < 0) {
    throw new MiddlewareConfigError(`ipAllowList ${name}: ipStrategy.depth must be a whole number >= 0`);
  }
  if (depth > 0 || !s?.excludedIPs || s.excludedIPs.length === 0) return { depth, excluded: null };
  const { set, invalid } = CidrSet.parse(s.excludedIPs);
  if (invalid.length > 0) {
    throw new MiddlewareConfigError(
      `ipAllowList ${name}: invalid ipStrategy.excludedIPs: ${invalid.join(', ')}`,
    );
  }
  return { depth, excluded: set };
}

export const ipAllowList: MiddlewareFactory<'ipAllowList'> = (config: Config, build) => {
  const ranges = config.sourceRange ?? [];
  if (!Array.isArray(ranges) || ranges.length === 0) {
    throw new MiddlewareConfigError(
      `ipAllowList ${build.name}: sourceRange is empty, nothing would be allowed`,
    );
  }
  const { set, invalid } = CidrSet.parse(ranges);
  if (invalid.length > 0) {
    throw new MiddlewareConfigError(`ipAllowList ${build.name}: invalid sourceRange: ${invalid.join(', ')}`);
  }
  const status = config.rejectStatusCode ?? 403;
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new MiddlewareConfigError(`ipAllowList ${build.name}: invalid rejectStatusCode ${status}`);
  }
  const strategy = parseStrategy(config.ipStrategy, build.name);
  return (next) => (ctx) => {
    const ip = clientAddressFor(
      strategy,
      strategy.depth > 0 || strategy.excluded ? forwardedFor(ctx) : [],
      ctx.clientIp,
    );
    if (ip !== '' && set.contains(ip)) return next(ctx);
    build.logger.debug({ middleware: build.name, ip }, 'ipAllowList rejected a client');
    ctx.log.error = 'ip_not_allowed';
    return respondText(ctx, status);
  };
};
