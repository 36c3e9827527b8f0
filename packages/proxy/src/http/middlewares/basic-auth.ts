// basicAuth: HTTP Basic authentication against htpasswd entries, with a short cache of bcrypt successes.
import { createHmac, randomBytes } from 'node:crypto';
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError, type MiddlewareFactory } from '../context.js';
import { respondText } from '../respond-text.js';
import { checkPassword, type HtpasswdEntry, parseHtpasswdLine } from './htpasswd-a.js';

type Config = NonNullable<HttpMiddleware['basicAuth']>;

/** How long a successful bcrypt check is trusted again without recomputing it. */
export const SUCCESS_TTL_MS = 60_000;
const CACHE_MAX = 1024;

/** `[user, password bytes]` from an `Authorization: Basic ...` value, or `null`. */
export function parseBasicAuthorization(value: string | undefined): [string, Buffer] | null {
  if (value === undefined) return null;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(value);
  if (!m) return null;
  const decoded = Buffer.from(m[1] ?? '', 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return null;
  return [decoded.subarray(0, colon).toString('utf8'), decoded.subarray(colon + 1)];
}

/**
 * Remembers (user, password) pairs that passed a bcrypt check, for a short time. Keys are HMACs
 * under a key made per middleware instance, so neither passwords nor reusable hashes are kept.
 */
export class SuccessCache {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, number>();
  constructor(
    private readonly ttlMs: number = SUCCESS_TTL_MS,
    private readonly max: number = CACHE_MAX,
    private readonly now: () => number = Date.now,
  ) {}

  key(user: string, password: Buffer): string {
    return createHmac('sha256', this.#key).update(user).update('\0').update(password).digest('base64');
  }

  has(key: string): boolean {
    const expires = this.#entries.get(key);
    if (expires === undefined) return false;
    if (expires > this.now()) return true;
    this.#entries.delete(key);
    return false;
  }

  add(key: string): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, this.now() + this.ttlMs);
  }

  get size(): number {
    return this.#entries.size;
  }
}

function parseUsers(lines: readonly string[], name: string): Map<string, HtpasswdEntry> {
  const users = new Map<string, HtpasswdEntry>();
  lines.forEach((raw, i) => {
    const line = String(raw).trim();
    if (line === '' || line.startsWith('#')) return;
    try {
      const entry = parseHtpasswdLine(line);
      users.set(entry.user, entry);
    } catch (err) {
      throw new MiddlewareConfigError(`basicAuth ${name}: users[${i}]: ${(err as Error).message}`);
    }
  });
  return users;
}

/** The costliest entry: checked in place of an unknown user, so that costs what a known one does. */
function decoyOf(users: Map<string, HtpasswdEntry>): HtpasswdEntry {
  let decoy: HtpasswdEntry | undefined;
  const rank = (e: HtpasswdEntry): number =>
    e.kind === 'bcrypt' ? 100 + e.cost : e.kind === 'md5crypt' ? 1 : 0;
  for (const e of users.values()) if (decoy === undefined || rank(e) > rank(decoy)) decoy = e;
  return decoy as HtpasswdEntry;
}

/**
 * Checks credentials; unknown users cost a check against the decoy and always fail. Identical
 * bcrypt checks running at once share one computation (a browser opening many connections).
 */
export function makeVerifier(
  users: Map<string, HtpasswdEntry>,
  cache = new SuccessCache(),
  checker: typeof checkPassword = checkPassword,
) {
  const decoy = decoyOf(users);
  const running = new Map<string, Promise<boolean>>();
  const check = (entry: HtpasswdEntry, password: Buffer): Promise<boolean> =>
    checker(entry, password).catch(() => false);
  return async (user: string, password: Buffer): Promise<boolean> => {
    const entry = users.get(user);
    if (entry === undefined) {
      await check(decoy, password);
      return false;
    }
    if (entry.kind !== 'bcrypt') return check(entry, password);
    const key = cache.key(user, password);
    if (cache.has(key)) return true;
    const shared = running.get(key);
    if (shared !== undefined) return shared;
    const result = check(entry, password).then((ok) => {
      running.delete(key);
      if (ok) cache.add(key);
      return ok;
    });
    running.set(key, result);
    return result;
  };
}

export const basicAuth: MiddlewareFactory<'basicAuth'> = (config: Config, build) => {
  const what = `basicAuth ${build.name}`;
  if (config.users === undefined || config.users.length === 0) {
    throw new MiddlewareConfigError(
      config.usersFile
        ? `${what}: usersFile ${JSON.stringify(config.usersFile)} was not read into users by the controller`
        : `${what}: no users (give users or usersFile)`,
    );
  }
  const users = parseUsers(config.users, build.name);
  if (users.size === 0) throw new MiddlewareConfigError(`${what}: no users (only blank or comment lines)`);
  const realm = (config.realm ?? 'berth').replace(/[\\"]/g, '\\$&');
  if (/[\r\n\0]/.test(realm)) throw new MiddlewareConfigError(`${what}: invalid realm`);
  const headerField = config.headerField?.toLowerCase();
  if (headerField !== undefined && !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(headerField)) {
    throw new MiddlewareConfigError(`${what}: invalid headerField ${JSON.stringify(config.headerField)}`);
  }
  const removeHeader = config.removeHeader === true;
  const verify = makeVerifier(users);
  const challenge = { 'www-authenticate': `Basic realm="${realm}"` };

  return (next) => async (ctx) => {
    const credentials = parseBasicAuthorization(ctx.req.headers.authorization);
    const ok = credentials !== null && (await verify(credentials[0], credentials[1]));
    if (!ok || credentials === null) {
      // The user name a client tried is theirs to see in logs; the password never is.
      build.logger.debug({ middleware: build.name, user: credentials?.[0] }, 'basicAuth refused a request');
      ctx.log.error = 'unauthorized';
      return respondText(ctx, 401, '401 Unauthorized\n', challenge);
    }
    if (removeHeader) ctx.upstreamHeaders['authorization'] = undefined;
    if (headerField !== undefined) ctx.upstreamHeaders[headerField] = credentials[0];
    return next(ctx);
  };
};
