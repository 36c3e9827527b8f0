// `certificatesResolvers.NAME.acme.dnsChallenge`: Traefik v3's keys, and the settings of the two DNS
// providers Berth has (`exec`, `httpreq`), which Traefik reads from lego's environment variables.
//
// Where a provider's settings come from: lego's variables (EXEC_PATH, HTTPREQ_ENDPOINT, ...) are
// read, so a Traefik deployment's environment works unchanged; each may also be written in the file
// under `dnsChallenge.exec` / `dnsChallenge.httpreq`, which wins over the variable. The file is
// where every other Berth setting lives and where errors can name a line; the variables stay the
// better place for HTTPREQ_PASSWORD. Both are read once, when the static file is.

import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { parseDuration } from '@berth/config';
import { AcmeErrorCodes } from './acme-errors.js';

export const DNS_PROVIDERS = ['exec', 'httpreq'] as const;
export type DnsProviderName = (typeof DNS_PROVIDERS)[number];

/** lego's defaults (challenge/dns01): 60 s for a record to appear, checked every 2 s. */
export const DEFAULT_PROPAGATION_TIMEOUT_MS = 60_000;
export const DEFAULT_POLLING_INTERVAL_MS = 2_000;
/** lego's httpreq client timeout. */
export const DEFAULT_HTTPREQ_TIMEOUT_MS = 30_000;

/** lego's modes: `default` passes the record (FQDN, value); `raw` passes domain, token, keyAuth. */
export type DnsProviderMode = 'default' | 'raw';

export type DnsProviderSettings =
  | { name: 'exec'; path: string; mode: DnsProviderMode }
  | {
      name: 'httpreq';
      /** Base URL; `/present` and `/cleanup` are appended to its path. */
      endpoint: string;
      mode: DnsProviderMode;
      /** Basic auth when both are set (lego sends none otherwise). */
      username: string | null;
      password: string | null;
      /** Per request. */
      httpTimeoutMs: number;
    };

export interface DnsPropagationSettings {
  /** Wait before the first check (or before asking the CA, when checks are off). */
  delayBeforeChecksMs: number;
  /** No check: the CA is asked to validate after the delay. */
  disableChecks: boolean;
  /** Every resolver must see the record, not just the first that answers (Traefik's requireAllRNS). */
  requireAllResolvers: boolean;
  /** How long records may take to appear, and how often to look (the provider's, as in lego). */
  timeoutMs: number;
  intervalMs: number;
}

export interface Dns01Settings {
  type: 'dns-01';
  provider: DnsProviderName;
  providerSettings: DnsProviderSettings;
  /** `IP` or `IP:PORT` (`[IPv6]:PORT`); empty: the system's resolvers. */
  resolvers: string[];
  propagation: DnsPropagationSettings;
}

/** Reports one problem; `sub` is the raw key path below `dnsChallenge`, `canonical` its spelling. */
export type DnsSettingsFail = (
  code: string,
  sub: string[],
  canonical: string,
  message: string,
  blocks?: boolean,
) => void;

const KEYS = {
  provider: 'provider',
  resolvers: 'resolvers',
  propagation: 'propagation',
  delaybeforecheck: 'delayBeforeCheck',
  disablepropagationcheck: 'disablePropagationCheck',
  exec: 'exec',
  httpreq: 'httpreq',
} as const;

const PROPAGATION_KEYS = {
  delaybeforechecks: 'delayBeforeChecks',
  disablechecks: 'disableChecks',
  requireallrns: 'requireAllRNS',
  disableanschecks: 'disableANSChecks',
} as const;

/** Provider keys in the file → lego's variable (prefix EXEC_ / HTTPREQ_). */
const PROVIDER_KEYS: Record<DnsProviderName, Record<string, { key: string; env: string }>> = {
  exec: {
    path: { key: 'path', env: 'PATH' },
    mode: { key: 'mode', env: 'MODE' },
    propagationtimeout: { key: 'propagationTimeout', env: 'PROPAGATION_TIMEOUT' },
    pollinginterval: { key: 'pollingInterval', env: 'POLLING_INTERVAL' },
  },
  httpreq: {
    endpoint: { key: 'endpoint', env: 'ENDPOINT' },
    mode: { key: 'mode', env: 'MODE' },
    username: { key: 'username', env: 'USERNAME' },
    password: { key: 'password', env: 'PASSWORD' },
    propagationtimeout: { key: 'propagationTimeout', env: 'PROPAGATION_TIMEOUT' },
    pollinginterval: { key: 'pollingInterval', env: 'POLLING_INTERVAL' },
    httptimeout: { key: 'httpTimeout', env: 'HTTP_TIMEOUT' },
  },
};

function entries(value: unknown): [string, unknown][] | null {
  if (value === null || value === undefined) return [];
  if (typeof value !== 'object' || Array.isArray(value)) return null;
  return Object.entries(value as Record<string, unknown>);
}

/**
 * Parses the value of `dnsChallenge`; null when the resolver cannot work (each reason reported).
 * `baseDir` resolves a relative `exec.path` written in the file (the static file's directory).
 */
export function parseDnsChallenge(
  value: unknown,
  env: Record<string, string | undefined>,
  baseDir: string,
  fail: DnsSettingsFail,
): Dns01Settings | null {
  const map = entries(value);
  if (map === null) {
    fail(AcmeErrorCodes.SETTING_INVALID, [], '', 'expected {provider: exec|httpreq, ...}');
    return null;
  }
  let ok = true;
  const bad = (
    sub: string[],
    canonical: string,
    message: string,
    code: string = AcmeErrorCodes.SETTING_INVALID,
  ) => {
    fail(code, sub, canonical, message);
    ok = false;
  };
  let provider: DnsProviderName | null = null;
  let providerKey: string | null = null;
  const fileSettings: Partial<Record<DnsProviderName, { key: string; value: unknown }>> = {};
  let resolvers: string[] = [];
  const propagation = { delayBeforeChecksMs: 0, disableChecks: false, requireAllResolvers: false };

  for (const [key, v] of map) {
    const canonical = KEYS[key.toLowerCase() as keyof typeof KEYS];
    const here = `.${canonical ?? key}`;
    switch (canonical) {
      case undefined:
        fail(
          AcmeErrorCodes.SETTING_UNKNOWN,
          [key],
          here,
          `unknown key "${key}" (keys: ${Object.values(KEYS).join(', ')})`,
          false,
        );
        break;
      case 'provider':
        providerKey = key;
        if (typeof v !== 'string' || v === '') bad([key], here, 'expected a provider name (exec, httpreq)');
        else if (!(DNS_PROVIDERS as readonly string[]).includes(v.toLowerCase()))
          bad(
            [key],
            here,
            `"${v}" is not a DNS provider Berth has (${DNS_PROVIDERS.join(', ')}); exec (a program) or httpreq (an HTTP service) can drive any DNS API`,
            AcmeErrorCodes.DNS_PROVIDER_UNKNOWN,
          );
        else provider = v.toLowerCase() as DnsProviderName;
        break;
      case 'resolvers': {
        const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
        const parsed = Array.isArray(list)
          ? list.map((r) => (typeof r === 'string' ? resolverAddress(r) : null))
          : null;
        if (parsed === null || parsed.some((r) => r === null))
          bad(
            [key],
            here,
            `${JSON.stringify(v)}: expected a list of "IP:PORT" (or IP, port 53) DNS resolvers`,
          );
        else resolvers = parsed as string[];
        break;
      }
      case 'propagation': {
        const sub = entries(v);
        if (sub === null) {
          bad([key], here, 'expected {delayBeforeChecks, disableChecks, requireAllRNS}');
          break;
        }
        for (const [k, pv] of sub) {
          const name = PROPAGATION_KEYS[k.toLowerCase() as keyof typeof PROPAGATION_KEYS];
          const subHere = `${here}.${name ?? k}`;
          if (name === undefined)
            fail(
              AcmeErrorCodes.SETTING_UNKNOWN,
              [key, k],
              subHere,
              `unknown key "${k}" (keys: ${Object.values(PROPAGATION_KEYS).join(', ')})`,
              false,
            );
          else if (name === 'delayBeforeChecks') {
            const ms = duration(pv);
            if (ms === null) bad([key, k], subHere, `${JSON.stringify(pv)} is not a duration ("30s")`);
            else propagation.delayBeforeChecksMs = ms;
          } else if (typeof pv !== 'boolean') bad([key, k], subHere, 'expected true or false');
          else if (name === 'disableChecks') propagation.disableChecks = pv;
          else if (name === 'requireAllRNS') propagation.requireAllResolvers = pv;
          // disableANSChecks: Berth never queries the authoritative servers, only `resolvers`.
        }
        break;
      }
      // Traefik before v3.2 wrote these two directly under dnsChallenge.
      case 'delayBeforeCheck': {
        const ms = duration(v);
        if (ms === null) bad([key], here, `${JSON.stringify(v)} is not a duration ("30s")`);
        else propagation.delayBeforeChecksMs = ms;
        break;
      }
      case 'disablePropagationCheck':
        if (typeof v !== 'boolean') bad([key], here, 'expected true or false');
        else propagation.disableChecks = v;
        break;
      case 'exec':
      case 'httpreq':
        fileSettings[canonical] = { key, value: v };
        break;
    }
  }
  if (provider === null) {
    if (providerKey === null) bad([], '.provider', 'expected {provider: exec|httpreq}');
    return null;
  }
  for (const other of DNS_PROVIDERS)
    if (other !== provider && fileSettings[other])
      fail(
        AcmeErrorCodes.SETTING_UNKNOWN,
        [fileSettings[other].key],
        `.${other}`,
        `settings for "${other}", but the provider is "${provider}"; ignored`,
        false,
      );
  const settings = providerSettings(
    provider,
    fileSettings[provider],
    providerKey as string,
    env,
    baseDir,
    fail,
  );
  if (settings === null || !ok) return null;
  return {
    type: 'dns-01',
    provider,
    providerSettings: settings.provider,
    resolvers,
    propagation: { ...propagation, timeoutMs: settings.timeoutMs, intervalMs: settings.intervalMs },
  };
}

/** One provider's settings from `dnsChallenge.NAME` in the file, else lego's variables. */
function providerSettings(
  name: DnsProviderName,
  written: { key: string; value: unknown } | undefined,
  providerKey: string,
  env: Record<string, string | undefined>,
  baseDir: string,
  fail: DnsSettingsFail,
): { provider: DnsProviderSettings; timeoutMs: number; intervalMs: number } | null {
  const prefix = name.toUpperCase();
  const known = PROVIDER_KEYS[name];
  const fromFile = new Map<string, { raw: string; value: unknown }>();
  let ok = true;
  if (written !== undefined) {
    const map = entries(written.value);
    if (map === null) {
      fail(
        AcmeErrorCodes.SETTING_INVALID,
        [written.key],
        `.${name}`,
        `expected a map (${Object.values(known)
          .map((k) => k.key)
          .join(', ')})`,
      );
      return null;
    }
    for (const [k, v] of map) {
      const spec = known[k.toLowerCase()];
      if (spec === undefined)
        fail(
          AcmeErrorCodes.SETTING_UNKNOWN,
          [written.key, k],
          `.${name}.${k}`,
          `unknown key "${k}" (keys: ${Object.values(known)
            .map((s) => s.key)
            .join(', ')})`,
          false,
        );
      else fromFile.set(spec.key, { raw: k, value: v });
    }
  }
  /** The file's value (stringified), else the variable's; where to point an error at; its name. */
  const read = (key: string) => {
    const spec = Object.values(known).find((s) => s.key === key) as { key: string; env: string };
    const file = fromFile.get(key);
    if (file !== undefined && file.value !== null && file.value !== '')
      return {
        value: file.value,
        at: [written?.key as string, file.raw],
        where: `.${name}.${key}`,
        label: `dnsChallenge.${name}.${key}`,
      };
    const variable = `${prefix}_${spec.env}`;
    const text = env[variable]?.trim();
    return {
      value: text === undefined || text === '' ? undefined : text,
      at: [providerKey],
      where: '.provider',
      label: variable,
    };
  };
  const invalid = (r: ReturnType<typeof read>, message: string) => {
    fail(AcmeErrorCodes.SETTING_INVALID, r.at, r.where, `${r.label}: ${message}`);
    ok = false;
  };
  const text = (key: string): string | null => {
    const r = read(key);
    if (r.value === undefined) return null;
    if (typeof r.value !== 'string') {
      invalid(r, 'expected a string');
      return null;
    }
    return r.value;
  };
  const mode = (): DnsProviderMode => {
    const r = read('mode');
    if (r.value === undefined) return 'default';
    if (typeof r.value === 'string' && r.value.toUpperCase() === 'RAW') return 'raw';
    invalid(r, `${JSON.stringify(r.value)}: expected RAW, or nothing for the record (FQDN, value)`);
    return 'default';
  };
  const ms = (key: string, fallback: number): number => {
    const r = read(key);
    if (r.value === undefined) return fallback;
    const value = duration(r.value);
    if (value === null || value === 0) {
      invalid(r, `${JSON.stringify(r.value)} is not a duration (seconds, or "90s")`);
      return fallback;
    }
    return value;
  };

  const timeoutMs = ms('propagationTimeout', DEFAULT_PROPAGATION_TIMEOUT_MS);
  const intervalMs = ms('pollingInterval', DEFAULT_POLLING_INTERVAL_MS);
  let provider: DnsProviderSettings | null = null;
  if (name === 'exec') {
    const path = text('path');
    const m = mode();
    if (path === null) {
      fail(
        AcmeErrorCodes.SETTING_INVALID,
        [providerKey],
        '.provider',
        'exec needs the program to run: set EXEC_PATH or dnsChallenge.exec.path',
      );
      return null;
    }
    // A relative path written in the file is the file's neighbour; EXEC_PATH is taken as lego does.
    const inFile = fromFile.has('path');
    provider = {
      name,
      path: inFile && path.includes('/') && !isAbsolute(path) ? resolve(baseDir, path) : path,
      mode: m,
    };
  } else {
    const endpoint = text('endpoint');
    const m = mode();
    const username = text('username');
    const password = text('password');
    const httpTimeoutMs = ms('httpTimeout', DEFAULT_HTTPREQ_TIMEOUT_MS);
    if (endpoint === null) {
      fail(
        AcmeErrorCodes.SETTING_INVALID,
        [providerKey],
        '.provider',
        'httpreq needs the endpoint to POST to: set HTTPREQ_ENDPOINT or dnsChallenge.httpreq.endpoint',
      );
      return null;
    }
    const url = parseUrl(endpoint);
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      invalid(read('endpoint'), `${JSON.stringify(endpoint)} is not an http(s):// URL`);
    provider = { name, endpoint, mode: m, username, password, httpTimeoutMs };
  }
  return ok ? { provider, timeoutMs, intervalMs } : null;
}

/** `1.2.3.4`, `1.2.3.4:53`, `::1`, `[::1]:53` → the form node:dns `setServers` takes; else null. */
export function resolverAddress(text: string): string | null {
  const t = text.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) {
    if (isIP(v6[1] as string) !== 6 || !validPort(v6[2])) return null;
    return v6[2] === undefined ? (v6[1] as string) : `[${v6[1]}]:${v6[2]}`;
  }
  if (isIP(t) === 6) return t;
  const [host, port, ...rest] = t.split(':');
  if (rest.length > 0 || isIP(host ?? '') !== 4 || !validPort(port)) return null;
  return t;
}

function validPort(port: string | undefined): boolean {
  if (port === undefined) return true;
  const n = Number(port);
  return /^\d+$/.test(port) && n > 0 && n < 65536;
}

/** Durations as Traefik and lego read them: a Go duration, or a number of seconds. */
function duration(v: unknown): number | null {
  if (typeof v !== 'number' && typeof v !== 'string') return null;
  return parseDuration(v);
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}
