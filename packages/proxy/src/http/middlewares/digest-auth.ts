// digestAuth: HTTP Digest authentication (RFC 2617, MD5, qop=auth) against htdigest lines, as Traefik's go-http-auth.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError, type MiddlewareFactory } from '../context.js';
import { respondText } from '../respond-text.js';

type Config = NonNullable<HttpMiddleware['digestAuth']>;

/** Traefik's default realm; it is part of every stored hash, so it must match theirs. */
export const DEFAULT_DIGEST_REALM = 'traefik';
/** A nonce older than this is answered `stale=true`: the client retries with a fresh one, no new password asked. */
export const NONCE_TTL_MS = 5 * 60_000;
/** Nonce counts remembered per process, for refusing replays. */
const NC_MAX = 4096;

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

/** The parameters of an `Authorization: Digest k=v, k="v"` value, or null. */
export function parseDigestAuthorization(value: string | undefined): Map<string, string> | null {
  if (value === undefined) return null;
  const m = /^\s*digest\s+(.*)$/is.exec(value);
  if (m === null) return null;
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)/gy;
  const text = m[1]!;
  re.lastIndex = 0;
  while (re.lastIndex < text.length) {
    const found = re.exec(text);
    if (found === null || found[0] === '') break;
    params.set(
      found[1]!.toLowerCase(),
      found[2] !== undefined ? found[2].replace(/\\(.)/g, '$1') : found[3]!,
    );
  }
  return params;
}

/**
 * Nonces are `time.mac`, signed with a key derived from the configuration (the stored hashes
 * are secret), so every worker of every node accepts the nonces any of them issued: a client's
 * next request may land anywhere. Replays of a nonce count are refused per process.
 */
export class NonceSigner {
  readonly #key: Buffer;
  constructor(secret: string) {
    this.#key = createHash('sha256').update('berth-digest\0').update(secret).digest();
  }

  issue(now = Date.now()): string {
    const time = now.toString(36);
    return `${time}.${this.#mac(time)}`;
  }

  /** `ok`, `stale` (signed but old) or `bad`. */
  check(nonce: string, now = Date.now()): 'ok' | 'stale' | 'bad' {
    const dot = nonce.indexOf('.');
    if (dot < 0) return 'bad';
    const time = nonce.slice(0, dot);
    const mac = Buffer.from(nonce.slice(dot + 1));
    const expected = Buffer.from(this.#mac(time));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return 'bad';
    const issued = Number.parseInt(time, 36);
    return now - issued > NONCE_TTL_MS || issued > now + 60_000 ? 'stale' : 'ok';
  }

  get opaque(): string {
    return this.#mac('opaque');
  }

  #mac(text: string): string {
    return createHmac('sha256', this.#key).update(text).digest('base64url').slice(0, 32);
  }
}

export const digestAuth: MiddlewareFactory<'digestAuth'> = (config: Config, build) => {
  const what = `digestAuth ${build.name}`;
  if (config.users === undefined || config.users.length === 0) {
    throw new MiddlewareConfigError(
      config.usersFile
        ? `${what}: usersFile ${JSON.stringify(config.usersFile)} was not read into users by the controller`
        : `${what}: no users (give users or usersFile)`,
    );
  }
  const realm = config.realm || DEFAULT_DIGEST_REALM;
  if (/["\\\r\n\0]/.test(realm)) throw new MiddlewareConfigError(`${what}: invalid realm`);
  // `user:realm` → HA1, as Traefik keys them; only the configured realm's users can log in.
  const secrets = new Map<string, string>();
  config.users.forEach((line, i) => {
    const parts = line.trim().split(':');
    if (parts.length !== 3) throw new MiddlewareConfigError(`${what}: users[${i}] is not user:realm:hash`);
    secrets.set(`${parts[0]}:${parts[1]}`, parts[2]!.toLowerCase());
  });
  const signer = new NonceSigner(`${build.name}\0${realm}\0${config.users.join('\n')}`);
  const opaque = signer.opaque;
  const counts = new Map<string, number>();
  const headerField = config.headerField?.toLowerCase();
  const removeHeader = config.removeHeader === true;

  const challenge = (stale: boolean) => ({
    'www-authenticate': `Digest realm="${realm}", nonce="${signer.issue()}", opaque="${opaque}", algorithm="MD5", qop="auth"${stale ? ', stale=true' : ''}`,
  });

  /** The user name when the credentials hold, `stale` for a good answer to an old nonce, else null. */
  const check = (method: string, requestUri: string, header: string | undefined): string | null | 'stale' => {
    const p = parseDigestAuthorization(header);
    if (p === null) return null;
    const algorithm = p.get('algorithm') ?? 'MD5';
    if (p.get('opaque') !== opaque || algorithm.toUpperCase() !== 'MD5' || p.get('qop') !== 'auth')
      return null;
    const uri = p.get('uri') ?? '';
    if (uri !== requestUri) {
      // go-http-auth also takes a uri whose path is a prefix of the request's path.
      const path = uri.split('?')[0]!;
      const requestPath = requestUri.split('?')[0]!;
      if (path === '' || !requestPath.startsWith(path)) return null;
    }
    const user = p.get('username') ?? '';
    const ha1 = secrets.get(`${user}:${realm}`) ?? '';
    const nonce = p.get('nonce') ?? '';
    const nc = p.get('nc') ?? '';
    const response = Buffer.from(p.get('response') ?? '');
    const ha2 = md5(`${method}:${uri}`);
    const kd = Buffer.from(md5([ha1, nonce, nc, p.get('cnonce') ?? '', 'auth', ha2].join(':')));
    if (ha1 === '' || response.length !== kd.length || !timingSafeEqual(response, kd)) return null;
    const count = Number.parseInt(nc, 16);
    if (!Number.isFinite(count)) return null;
    const state = signer.check(nonce);
    if (state === 'bad') return null;
    if (state === 'stale') return 'stale';
    const prior = counts.get(nonce);
    if (prior !== undefined && count <= prior) return null;
    counts.delete(nonce);
    if (counts.size >= NC_MAX) counts.delete(counts.keys().next().value as string);
    counts.set(nonce, count);
    return user;
  };

  return (next) => async (ctx) => {
    const user = check(ctx.req.method ?? 'GET', ctx.req.url ?? '/', ctx.req.headers.authorization);
    if (user === null || user === 'stale') {
      ctx.log.error = 'unauthorized';
      return respondText(ctx, 401, '401 Unauthorized\n', challenge(user === 'stale'));
    }
    if (headerField !== undefined) ctx.upstreamHeaders[headerField] = user;
    if (removeHeader) ctx.upstreamHeaders['authorization'] = undefined;
    return next(ctx);
  };
};
