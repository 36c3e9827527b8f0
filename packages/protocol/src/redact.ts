// Secrets out of anything a person may read (the controller's API, a node's api@internal): every
// private key, ticket key, password hash and credential header replaced by a marker.

export const REDACTED = '[redacted]';

const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Keys whose string values are credentials whatever they look like. */
const SECRET_KEYS = /^(password|secret|clientSecret)$/i;

/** Middlewares whose `users` are `name:hash` lines (htpasswd; htdigest for Traefik's digestAuth). */
const USER_LISTS = new Set(['basicAuth', 'digestAuth']);

/**
 * Header maps a configuration may put credentials in: for the backend (`headers` middleware), an
 * auth server, or a health check (`healthCheck.headers`). The `headers` middleware's own options
 * pass through unchanged (none is named like a credential header) and its maps are read as such.
 */
const HEADER_MAPS = new Set([
  'customRequestHeaders',
  'customResponseHeaders',
  'authRequestHeaders',
  'headers',
]);

/** `scheme://user:password@host`: the password of a URL's userinfo (a server URL, an auth address). */
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i;
const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
]);

/**
 * basicAuth users keep their names and lose their hashes (`alice:[redacted]`), whether written
 * inline or read from `usersFile` by the controller: a hash is an offline guess away from the
 * password. Credential headers set by a `headers` middleware lose their values.
 * Private keys may sit in certificates, the default certificate, HTTP and TCP transport client
 * certificates (as inline `keyFile`), and anywhere a future field puts PEM: any string holding a
 * PEM private key is redacted wherever it is, and the ticket keys by name. Any value under a key
 * named `password` or `secret` (a Redis password, a client secret) is redacted too, and so is the
 * password in a URL's userinfo.
 */
export function redactSecrets<T>(value: T): T {
  return redact(value, '') as T;
}

function redact(value: unknown, key: string): unknown {
  if (typeof value === 'string') {
    if (PRIVATE_KEY.test(value) || SECRET_KEYS.test(key)) return REDACTED;
    return URL_PASSWORD.test(value) ? value.replace(URL_PASSWORD, `$1:${REDACTED}@`) : value;
  }
  if (USER_LISTS.has(key) && isRecord(value)) {
    const users = value['users'];
    const rest = redact(value, '') as Record<string, unknown>;
    return Array.isArray(users) ? { ...rest, users: users.map(redactUser) } : rest;
  }
  if (HEADER_MAPS.has(key) && isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(value))
      out[name] = CREDENTIAL_HEADERS.has(name.toLowerCase()) && v !== '' ? REDACTED : redact(v, name);
    return out;
  }
  if (Array.isArray(value)) {
    if (key === 'sessionTicketKeys') return value.map(() => REDACTED);
    return value.map((v) => redact(v, ''));
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redact(v, k);
    return out;
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `name:hash` (htpasswd) or `name:realm:hash` (htdigest) keeps only the name. */
function redactUser(line: unknown): unknown {
  if (typeof line !== 'string') return REDACTED;
  const colon = line.indexOf(':');
  return colon > 0 ? `${line.slice(0, colon)}:${REDACTED}` : REDACTED;
}
