// `certificatesResolvers.NAME.acme` of the controller's static file: Traefik v3's keys (matched
// case-insensitively, as Traefik's CLI and env spellings are lower-case), validated with errors that
// name the setting, its file and line.
import { isAbsolute, resolve } from 'node:path';
import { type ConfigError, configError, parseDuration, type Source } from '@berth/config';
import { AcmeErrorCodes } from './acme-errors.js';
import { type Dns01Settings, parseDnsChallenge } from './dns-settings.js';

export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';
export const DEFAULT_STORAGE = 'acme.json';

/** Traefik's names. RSA8192 (Traefik accepts it) is refused: minutes of key generation per order. */
export const ACME_KEY_TYPES = ['EC256', 'EC384', 'RSA2048', 'RSA4096'] as const;
export type AcmeKeyType = (typeof ACME_KEY_TYPES)[number];

export type AcmeChallengeSettings =
  | { type: 'http-01'; entryPoint: string }
  | { type: 'tls-alpn-01' }
  | Dns01Settings;

/**
 * When to renew, before expiry: a fraction of the certificate's own lifetime, or a fixed time.
 * Default: a third of the lifetime (Let's Encrypt's 90 days → 30 days before, as Traefik does).
 */
export type RenewBefore = { fraction: number } | { ms: number };

export interface AcmeResolverSettings {
  name: string;
  /** Account contact; null registers an account without one (Let's Encrypt accepts that). */
  email: string | null;
  caServer: string;
  /** File name in the controller's data dir holding the account and certificates. */
  storage: string;
  eab: { kid: string; hmacEncoded: string } | null;
  keyType: AcmeKeyType;
  challenge: AcmeChallengeSettings;
  renewBefore: RenewBefore;
  /** Traefik's `certificatesDuration` (hours), when written: picks Traefik's renew period for it. */
  certificatesDurationHours: number | null;
  /** Issuer common name of the chain to prefer when the CA offers several. */
  preferredChain: string | null;
  /** Absolute paths of PEM files to trust for the CA server's HTTPS (a private CA, pebble). */
  caCertificates: string[];
  /** With caCertificates: trust the system roots as well (Traefik's caSystemCertPool). */
  caSystemCertPool: boolean;
}

export interface ResolverSettingsResult {
  /** Valid resolvers by name; an invalid one is left out (routers naming it get an error, not a crash). */
  resolvers: Map<string, AcmeResolverSettings>;
  errors: ConfigError[];
}

type SourceOf = (rawPath: string[]) => Source | undefined;

/** Keys Traefik has that Berth reads, lower-cased → canonical spelling. */
const KNOWN = {
  email: 'email',
  caserver: 'caServer',
  storage: 'storage',
  eab: 'eab',
  keytype: 'keyType',
  httpchallenge: 'httpChallenge',
  tlschallenge: 'tlsChallenge',
  dnschallenge: 'dnsChallenge',
  certificatesduration: 'certificatesDuration',
  preferredchain: 'preferredChain',
  cacertificates: 'caCertificates',
  casystemcertpool: 'caSystemCertPool',
  // Berth's own: when to renew (fraction of the lifetime, "33%", or a duration).
  renewbefore: 'renewBefore',
} as const;

/** Traefik keys accepted with an "unsupported" error; the resolver works without them. */
const UNSUPPORTED = new Set([
  'clienttimeout',
  'clientresponseheadertimeout',
  'caservername',
  'profile',
  'emailaddresses',
  'disablecommonname',
]);

function entries(value: unknown): [string, unknown][] | null {
  if (value === null || value === undefined) return [];
  if (typeof value !== 'object' || Array.isArray(value)) return null;
  return Object.entries(value as Record<string, unknown>);
}

/** Finds a key case-insensitively; returns its spelling in the file too, for line lookups. */
function pick(map: [string, unknown][], name: string): { key: string; value: unknown } | null {
  const found = map.find(([k]) => k.toLowerCase() === name.toLowerCase());
  return found ? { key: found[0], value: found[1] } : null;
}

/**
 * Parses the value of `certificatesResolvers` (undefined when absent). `baseDir` resolves relative
 * `caCertificates` paths (the static file's directory).
 */
export function parseCertificatesResolvers(
  raw: unknown,
  sourceOf: SourceOf = () => undefined,
  baseDir = process.cwd(),
  rootKey = 'certificatesResolvers',
  /** lego's variables for the DNS providers (EXEC_PATH, HTTPREQ_ENDPOINT, ...). */
  env: Record<string, string | undefined> = process.env,
): ResolverSettingsResult {
  const resolvers = new Map<string, AcmeResolverSettings>();
  const errors: ConfigError[] = [];
  if (raw === undefined) return { resolvers, errors };
  const top = entries(raw);
  if (top === null) {
    errors.push(
      configError(
        AcmeErrorCodes.SETTING_INVALID,
        'certificatesResolvers',
        'certificatesResolvers: expected a map of resolver names to {acme: ...}',
        sourceOf([rootKey]),
      ),
    );
    return { resolvers, errors };
  }
  for (const [name, value] of top) {
    const parsed = parseResolver(name, value, (p) => sourceOf([rootKey, name, ...p]), baseDir, env);
    errors.push(...parsed.errors);
    if (parsed.settings) resolvers.set(name, parsed.settings);
  }
  return { resolvers, errors };
}

function parseResolver(
  name: string,
  value: unknown,
  sourceOf: SourceOf,
  baseDir: string,
  env: Record<string, string | undefined>,
): { settings: AcmeResolverSettings | null; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const prefix = `certificatesResolvers.${name}`;
  let fatal = false;
  // `blocks`: the resolver is left out (an error); otherwise it works without the value (a warning).
  const fail = (code: string, rawPath: string[], canonical: string, message: string, blocks = true) => {
    const error = configError(
      code,
      `${prefix}${canonical}`,
      `${prefix}${canonical}: ${message}`,
      sourceOf(rawPath),
    );
    errors.push(blocks ? error : { ...error, severity: 'warning' });
    if (blocks) fatal = true;
  };
  const outer = entries(value);
  if (outer === null) {
    fail(AcmeErrorCodes.SETTING_INVALID, [], '', 'expected a map with an "acme" section');
    return { settings: null, errors };
  }
  for (const [key] of outer) {
    if (key.toLowerCase() !== 'acme')
      fail(
        AcmeErrorCodes.SETTING_UNKNOWN,
        [key],
        `.${key}`,
        `unknown key "${key}": a resolver has one section, "acme"`,
        false,
      );
  }
  const acmeEntry = pick(outer, 'acme');
  const acme = acmeEntry ? entries(acmeEntry.value) : null;
  if (acmeEntry === null || acme === null) {
    fail(
      AcmeErrorCodes.SETTING_INVALID,
      acmeEntry ? [acmeEntry.key] : [],
      '.acme',
      'expected a map of ACME settings',
    );
    return { settings: null, errors };
  }
  const at = (...p: string[]) => [acmeEntry.key, ...p];

  const settings: AcmeResolverSettings = {
    name,
    email: null,
    caServer: LETS_ENCRYPT_DIRECTORY,
    storage: DEFAULT_STORAGE,
    eab: null,
    keyType: 'EC256',
    challenge: { type: 'http-01', entryPoint: '' },
    renewBefore: { fraction: 1 / 3 },
    certificatesDurationHours: null,
    preferredChain: null,
    caCertificates: [],
    caSystemCertPool: false,
  };
  // Each challenge written, null when invalid (already reported): it still counts for the choice.
  const challenges: { type: AcmeChallengeSettings['type']; settings: AcmeChallengeSettings | null }[] = [];
  let renewBeforeWritten = false;

  for (const [key, v] of acme) {
    const lower = key.toLowerCase();
    const canonical = KNOWN[lower as keyof typeof KNOWN];
    const path = `.acme.${canonical ?? key}`;
    const bad = (message: string) => fail(AcmeErrorCodes.SETTING_INVALID, at(key), path, message);
    if (canonical === undefined) {
      if (UNSUPPORTED.has(lower))
        fail(AcmeErrorCodes.SETTING_UNSUPPORTED, at(key), path, 'not supported by Berth yet; ignored', false);
      else
        fail(
          AcmeErrorCodes.SETTING_UNKNOWN,
          at(key),
          path,
          `unknown key "${key}" (keys: ${Object.values(KNOWN).join(', ')})`,
          false,
        );
      continue;
    }
    switch (canonical) {
      case 'email':
        if (v === null || v === '') settings.email = null;
        else if (typeof v !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(v))
          bad(`${JSON.stringify(v)} is not an e-mail address`);
        else settings.email = v;
        break;
      case 'caServer': {
        const url = typeof v === 'string' ? parseUrl(v) : null;
        if (url === null || url.protocol !== 'https:')
          bad(`${JSON.stringify(v)} is not an https:// directory URL`);
        else settings.caServer = v as string;
        break;
      }
      case 'storage': {
        if (typeof v !== 'string' || v.trim() === '' || v.endsWith('/')) {
          bad(`${JSON.stringify(v)} is not a file name`);
          break;
        }
        // Keys live only in the controller's data dir (0700): a directory part is dropped, and said.
        const base = v.split('/').pop() as string;
        if (base !== v)
          fail(
            AcmeErrorCodes.STORAGE_RELOCATED,
            at(key),
            path,
            `"${v}" is kept as "${base}" in the controller's data dir (ACME keys are stored nowhere else)`,
            false,
          );
        if (base === '.' || base === '..') bad(`${JSON.stringify(v)} is not a file name`);
        else settings.storage = base;
        break;
      }
      case 'eab': {
        const eab = entries(v);
        const kid = eab ? pick(eab, 'kid') : null;
        const hmac = eab ? pick(eab, 'hmacEncoded') : null;
        const extra = eab?.filter(([k]) => !['kid', 'hmacencoded'].includes(k.toLowerCase())) ?? [];
        if (eab === null || extra.length > 0) bad('expected {kid, hmacEncoded}');
        else if (typeof kid?.value !== 'string' || kid.value === '')
          bad('kid: expected the key identifier from the CA');
        else if (typeof hmac?.value !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(hmac.value))
          bad('hmacEncoded: expected the base64url HMAC key from the CA');
        else settings.eab = { kid: kid.value, hmacEncoded: hmac.value };
        break;
      }
      case 'keyType': {
        const upper = typeof v === 'string' ? v.toUpperCase() : '';
        const known = ACME_KEY_TYPES.find((t) => t === upper);
        if (known) settings.keyType = known;
        else if (upper === 'RSA8192') bad('RSA8192 is not supported (use RSA4096 or EC256)');
        else bad(`${JSON.stringify(v)} is not a key type (${ACME_KEY_TYPES.join(', ')})`);
        break;
      }
      case 'httpChallenge': {
        const http = entries(v);
        const ep = http ? pick(http, 'entryPoint') : null;
        if (http === null || typeof ep?.value !== 'string' || ep.value === '') {
          bad(
            'expected {entryPoint: NAME}, the entry point that answers /.well-known/acme-challenge/ (port 80)',
          );
          break;
        }
        for (const [k] of http) {
          if (k.toLowerCase() === 'entrypoint') continue;
          const sub = `${path}.${k}`;
          if (k.toLowerCase() === 'delay')
            fail(
              AcmeErrorCodes.SETTING_UNSUPPORTED,
              at(key, k),
              sub,
              'not needed: Berth validates once every node serves the challenge; ignored',
              false,
            );
          else
            fail(
              AcmeErrorCodes.SETTING_UNKNOWN,
              at(key, k),
              sub,
              `unknown key "${k}" (keys: entryPoint)`,
              false,
            );
        }
        challenges.push({ type: 'http-01', settings: { type: 'http-01', entryPoint: ep.value } });
        break;
      }
      case 'tlsChallenge':
        // Traefik writes `tlsChallenge: {}`; a bare key (null) or `true` means the same.
        if (v === false) break;
        if (v !== true && entries(v) === null) bad('expected {} (TLS-ALPN-01 has no settings)');
        else challenges.push({ type: 'tls-alpn-01', settings: { type: 'tls-alpn-01' } });
        break;
      case 'dnsChallenge': {
        const dns = parseDnsChallenge(v, env, baseDir, (code, sub, canonical, message, blocks) =>
          fail(code, at(key, ...sub), `${path}${canonical}`, message, blocks),
        );
        challenges.push({ type: 'dns-01', settings: dns });
        break;
      }
      case 'certificatesDuration':
        if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
          bad(`${JSON.stringify(v)} is not a number of hours (2160 for 90 days)`);
        else settings.certificatesDurationHours = v;
        break;
      case 'renewBefore': {
        const parsed = parseRenewBefore(v);
        if (parsed === null)
          bad(`${JSON.stringify(v)} is not a fraction of the lifetime (0.33, "33%") or a duration ("720h")`);
        else {
          settings.renewBefore = parsed;
          renewBeforeWritten = true;
        }
        break;
      }
      case 'preferredChain':
        if (typeof v !== 'string') bad('expected the issuer common name of the preferred chain');
        else settings.preferredChain = v === '' ? null : v;
        break;
      case 'caCertificates': {
        const list = typeof v === 'string' ? [v] : v;
        if (!Array.isArray(list) || !list.every((p) => typeof p === 'string' && p !== ''))
          bad('expected a list of PEM file paths');
        else settings.caCertificates = list.map((p: string) => (isAbsolute(p) ? p : resolve(baseDir, p)));
        break;
      }
      case 'caSystemCertPool':
        if (typeof v !== 'boolean') bad('expected true or false');
        else settings.caSystemCertPool = v;
        break;
    }
  }

  if (challenges.length !== 1) {
    fail(
      AcmeErrorCodes.CHALLENGE_CHOICE,
      [acmeEntry.key],
      '.acme',
      challenges.length === 0
        ? 'no challenge: set one of httpChallenge.entryPoint, tlsChallenge, dnsChallenge.provider'
        : `${challenges.length} challenges (${challenges.map((c) => c.type).join(', ')}): set exactly one`,
    );
  } else if (challenges[0]?.settings) settings.challenge = challenges[0].settings;
  if (!renewBeforeWritten && settings.certificatesDurationHours !== null)
    settings.renewBefore = { ms: traefikRenewPeriodMs(settings.certificatesDurationHours) };
  return { settings: fatal ? null : settings, errors };
}

/** `0.33`, `"33%"` → fraction of the lifetime; `"720h"` → fixed time before expiry. */
export function parseRenewBefore(v: unknown): RenewBefore | null {
  if (typeof v === 'number') return v > 0 && v <= 1 ? { fraction: v } : null;
  if (typeof v !== 'string') return null;
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
  if (percent) {
    const fraction = Number(percent[1]) / 100;
    return fraction > 0 && fraction <= 1 ? { fraction } : null;
  }
  // A bare number in a string would read as seconds to parseDuration: too easy to misread here.
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return null;
  const ms = parseDuration(v);
  return ms !== null && ms > 0 ? { ms } : null;
}

/** Traefik's renew period for a `certificatesDuration` (pkg/provider/acme): how long before expiry it renews. */
export function traefikRenewPeriodMs(hours: number): number {
  const H = 3_600_000;
  if (hours >= 365 * 24) return 4 * 30 * 24 * H;
  if (hours >= 3 * 30 * 24) return 30 * 24 * H;
  if (hours >= 30 * 24) return 10 * 24 * H;
  if (hours >= 6 * 24) return 2 * 24 * H;
  if (hours >= 24) return 6 * H;
  return H / 3;
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}
