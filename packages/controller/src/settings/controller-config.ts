// The controller's static configuration file (entry points, providers): read, validated, reported with lines.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  type ConfigError,
  configError,
  parseDuration,
  type StaticConfig,
  validateStatic,
} from '@berth/config';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { type AcmeResolverSettings, parseCertificatesResolvers } from '../acme/resolver-settings.js';
import { ErrorCodes } from '../compiler/error-codes.js';
import {
  DEFAULT_DEBOUNCE_MAX_MS,
  DEFAULT_DEBOUNCE_QUIET_MS,
  type DebounceSettings,
} from '../provider/change-debouncer.js';
import { type DockerProviderConfig, parseDockerSettings } from '../provider/docker/docker-settings.js';
import { parseSwarmSettings, type SwarmProviderConfig } from '../provider/swarm/swarm-settings.js';

export interface ControllerFileSettings {
  statics: StaticConfig;
  /** Absolute path of the file provider's file or directory, if configured. */
  providerFile: string | null;
  /** `providers.docker`, parsed; null when absent or invalid (its errors are in `errors`). */
  docker: DockerProviderConfig | null;
  /** `providers.swarm`, parsed; null when absent or invalid (its errors are in `errors`). */
  swarm: SwarmProviderConfig | null;
  /** `providers.debounce`: how provider changes are gathered into one version. */
  debounce: DebounceSettings;
  /** `certificatesResolvers`, the valid ones by name (invalid ones are left out, their errors in `errors`). */
  certificatesResolvers: Map<string, AcmeResolverSettings>;
  errors: ConfigError[];
}

const DEFAULT_DEBOUNCE: DebounceSettings = {
  quietMs: DEFAULT_DEBOUNCE_QUIET_MS,
  maxWaitMs: DEFAULT_DEBOUNCE_MAX_MS,
};

/** The embedded default used by `berth up` and when no config file is given. */
export const DEFAULT_ENTRYPOINTS: StaticConfig['entryPoints'] = { web: { address: ':8080' } };

export function parseControllerConfig(
  text: string,
  path: string,
  env: Record<string, string | undefined> = process.env,
): ControllerFileSettings {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const errors: ConfigError[] = [];
  const at = (offset: number | undefined) => {
    const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
    return pos ? { provider: 'static', origin: path, line: pos.line } : { provider: 'static', origin: path };
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    errors.push(
      configError(
        'BERTH_FILE_PARSE',
        '',
        `${path}:${at(e.pos[0]).line ?? '?'}: ${e.message.split('\n')[0]}`,
        at(e.pos[0]),
      ),
    );
    return {
      statics: { entryPoints: {} },
      providerFile: null,
      docker: null,
      swarm: null,
      debounce: DEFAULT_DEBOUNCE,
      certificatesResolvers: new Map(),
      errors,
    };
  }
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  const sourceOf = (p: string[]) => {
    const node = doc.getIn(p, true) as { range?: [number, number, number] } | undefined;
    return at(node?.range?.[0]);
  };
  const { config, errors: staticErrors } = validateStatic(
    {
      entryPoints: raw['entryPoints'] ?? raw['entrypoints'],
      accessLog: raw['accessLog'] ?? raw['accesslog'],
      routeRemovalGrace: raw['routeRemovalGrace'] ?? raw['routeremovalgrace'],
      // Passed only when written, so a file without it validates exactly as before.
      ...(raw['tls'] === undefined ? {} : { tls: raw['tls'] }),
      ...(raw['core'] === undefined ? {} : { core: raw['core'] }),
    },
    { sourceOf },
  );
  errors.push(...staticErrors);

  let providerFile: string | null = null;
  let docker: DockerProviderConfig | null = null;
  let swarm: SwarmProviderConfig | null = null;
  let debounce = DEFAULT_DEBOUNCE;
  const providers = doc.get('providers', true);
  if (isMap(providers)) {
    const rawProviders = (raw['providers'] ?? {}) as Record<string, unknown>;
    const dockerKey = Object.keys(rawProviders).find((k) => k.toLowerCase() === 'docker');
    const parsed = parseDockerSettings(
      dockerKey === undefined ? undefined : rawProviders[dockerKey],
      env,
      // Error paths say `providers.docker`; the file may spell it `Docker`.
      (p) => sourceOf(dockerKey === undefined ? p : ['providers', dockerKey, ...p.slice(2)]),
    );
    docker = parsed.docker;
    errors.push(...parsed.errors);
    const swarmKey = Object.keys(rawProviders).find((k) => k.toLowerCase() === 'swarm');
    const parsedSwarm = parseSwarmSettings(
      swarmKey === undefined ? undefined : rawProviders[swarmKey],
      env,
      (p) => sourceOf(swarmKey === undefined ? p : ['providers', swarmKey, ...p.slice(2)]),
    );
    swarm = parsedSwarm.swarm;
    errors.push(...parsedSwarm.errors);
    const debounceKey = Object.keys(rawProviders).find((k) => k.toLowerCase() === 'debounce');
    if (debounceKey !== undefined) {
      const parsedDebounce = parseDebounce(rawProviders[debounceKey], sourceOf(['providers', debounceKey]));
      debounce = parsedDebounce.debounce;
      errors.push(...parsedDebounce.errors);
    }
    const file = providers.get('file', true);
    if (isMap(file)) {
      const target = file.get('directory', true) ?? file.get('filename', true);
      if (isScalar(target) && typeof target.value === 'string') {
        providerFile = resolve(dirname(path), target.value);
      }
    }
  }
  const resolversKey = Object.keys(raw).find((k) => k.toLowerCase() === 'certificatesresolvers');
  const acme = parseCertificatesResolvers(
    resolversKey === undefined ? undefined : raw[resolversKey],
    (p) => sourceOf(resolversKey === undefined ? p : [resolversKey, ...p.slice(1)]),
    dirname(path),
    'certificatesResolvers',
    env,
  );
  errors.push(...acme.errors);
  return {
    statics: config,
    providerFile,
    docker,
    swarm,
    debounce,
    certificatesResolvers: acme.resolvers,
    errors,
  };
}

/**
 * `providers.debounce: {quiet: 20ms, max: 250ms}`: a compile waits for `quiet` without provider
 * changes, but never longer than `max` after the first change of a burst. Anything unreadable
 * leaves the defaults in force, with one error.
 */
export function parseDebounce(
  raw: unknown,
  source: ConfigError['source'],
): { debounce: DebounceSettings; errors: ConfigError[] } {
  const fail = (message: string) => ({
    debounce: DEFAULT_DEBOUNCE,
    errors: [
      configError(
        ErrorCodes.PROVIDERS_DEBOUNCE_INVALID,
        'providers.debounce',
        `providers.debounce: ${message}; the defaults (quiet 20ms, max 250ms) apply`,
        source,
      ),
    ],
  });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return fail('expected a map with "quiet" and "max" durations');
  const out = { ...DEFAULT_DEBOUNCE };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const field =
      key.toLowerCase() === 'quiet' ? 'quietMs' : key.toLowerCase() === 'max' ? 'maxWaitMs' : null;
    if (field === null) return fail(`unknown key "${key}" (keys: quiet, max)`);
    const ms = typeof value === 'string' || typeof value === 'number' ? parseDuration(value) : null;
    if (ms === null) return fail(`${key} ${JSON.stringify(value)} is not a duration such as "20ms"`);
    out[field] = ms;
  }
  if (out.maxWaitMs < out.quietMs)
    return fail(`max (${out.maxWaitMs}ms) is shorter than quiet (${out.quietMs}ms)`);
  return { debounce: out, errors: [] };
}

export async function loadControllerConfig(path: string): Promise<ControllerFileSettings> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return {
      statics: { entryPoints: {} },
      providerFile: null,
      docker: null,
      swarm: null,
      debounce: DEFAULT_DEBOUNCE,
      certificatesResolvers: new Map(),
      errors: [
        configError('BERTH_FILE_READ', '', `cannot read ${path}: ${(err as Error).message}`, {
          provider: 'static',
          origin: path,
        }),
      ],
    };
  }
  return parseControllerConfig(text, resolve(path));
}
