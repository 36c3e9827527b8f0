// `providers.docker` (and, with one more key, `providers.swarm`) of the static configuration: Traefik's
// keys and defaults, validated, with errors naming the setting.
import type { ConfigError, Source } from '@berth/config';
import { ErrorCodes } from '../../compiler/error-codes.js';
import type { DockerProviderSettings } from './container-facts.js';
import { type DockerConnection, type DockerTlsFiles, parseDockerEndpoint } from './docker-endpoint.js';

export const DEFAULT_DOCKER_ENDPOINT = 'unix:///var/run/docker.sock';

/** Traefik's default rule; the decoder evaluates it per container. */
export const DEFAULT_DOCKER_RULE = 'Host(`{{ normalize .Name }}`)';

/** Everything needed to start the Docker provider. */
export interface DockerProviderConfig {
  settings: DockerProviderSettings;
  connection: DockerConnection;
  /** Traefik's `watch` (default true): follow events, or read once at start. */
  watch: boolean;
}

export interface DockerSettingsResult {
  /** Null when `providers.docker` is absent, or has an invalid value (then `errors` says which). */
  docker: DockerProviderConfig | null;
  /** Invalid values stop the provider; unknown and unsupported keys are reported and have no effect. */
  errors: ConfigError[];
}

/** Traefik keys Berth reads, by lower-case name. */
const KNOWN: Record<string, string> = {
  endpoint: 'endpoint',
  exposedbydefault: 'exposedByDefault',
  constraints: 'constraints',
  defaultrule: 'defaultRule',
  network: 'network',
  usebindportip: 'useBindPortIP',
  allowemptyservices: 'allowEmptyServices',
  watch: 'watch',
  tls: 'tls',
};

/** Traefik keys Berth does not implement yet: reported, never silently ignored. */
const UNSUPPORTED: Record<string, string> = {
  httpclienttimeout: 'httpClientTimeout',
  username: 'username',
  password: 'password',
};

/** What differs between the two sections. */
export interface EngineSection {
  /** `docker` or `swarm`: the key under `providers`. */
  name: 'docker' | 'swarm';
  codes: { invalid: string; unknown: string; unsupported: string };
  /** More keys, by lower-case name. */
  known: Record<string, string>;
  /** More keys reported as not supported, by lower-case name, with what to say. */
  unsupported: Record<string, string>;
}

const DOCKER_SECTION: EngineSection = {
  name: 'docker',
  codes: {
    invalid: ErrorCodes.DOCKER_SETTING_INVALID,
    unknown: ErrorCodes.DOCKER_SETTING_UNKNOWN,
    unsupported: ErrorCodes.DOCKER_SETTING_UNSUPPORTED,
  },
  known: {},
  unsupported: {
    swarmmode: 'swarmMode (Swarm is `providers.swarm` in Traefik v3)',
    swarmmoderefreshseconds: 'swarmModeRefreshSeconds (Swarm is `providers.swarm` in Traefik v3)',
  },
};

const TLS_KEYS: Record<string, keyof DockerTlsFiles> = {
  ca: 'ca',
  cert: 'cert',
  key: 'key',
  insecureskipverify: 'insecureSkipVerify',
};

/**
 * Parses `raw`, the value of `providers.docker` (undefined when absent; null or `{}` enables it with
 * the defaults, as in Traefik). The endpoint is the setting, else DOCKER_HOST, else the local socket.
 * `sourceOf` maps raw keys (as written) to a position in the file.
 */
export function parseDockerSettings(
  raw: unknown,
  env: Record<string, string | undefined> = {},
  sourceOf: (rawPath: string[]) => Source | undefined = () => undefined,
): DockerSettingsResult {
  const { config, errors } = parseEngineSettings(DOCKER_SECTION, raw, env, sourceOf);
  return { docker: config, errors };
}

/**
 * The shared parser: `extra` receives the section's own keys (`known`) with a reporter, and returns
 * false when the value is invalid.
 */
export function parseEngineSettings(
  section: EngineSection,
  raw: unknown,
  env: Record<string, string | undefined> = {},
  sourceOf: (rawPath: string[]) => Source | undefined = () => undefined,
  extra: (name: string, value: unknown, bad: (expected: string) => void) => void = () => {},
): { config: DockerProviderConfig | null; errors: ConfigError[] } {
  if (raw === undefined) return { config: null, errors: [] };
  const prefix = `providers.${section.name}`;
  const errors: ConfigError[] = [];
  let invalid = false;
  const report = (code: string, rawPath: string[], path: string, message: string) => {
    const source = sourceOf(['providers', section.name, ...rawPath]);
    const at = path === '' ? prefix : `${prefix}.${path}`;
    errors.push(
      source === undefined
        ? { code, path: at, message: `${at}: ${message}` }
        : { code, path: at, message: `${at}: ${message}`, source },
    );
    if (code === section.codes.invalid) invalid = true;
  };
  if (raw !== null && !isRecord(raw)) {
    report(section.codes.invalid, [], '', 'must be a map of settings (or empty)');
    return { config: null, errors };
  }

  const settings: DockerProviderSettings = {
    endpoint: env['DOCKER_HOST'] || DEFAULT_DOCKER_ENDPOINT,
    exposedByDefault: false,
    constraints: '',
    defaultRule: DEFAULT_DOCKER_RULE,
    network: '',
    useBindPortIP: false,
    allowEmptyServices: false,
    prefixes: ['traefik', 'berth'],
  };
  let watch = true;
  let tls: DockerTlsFiles | null = null;

  for (const [key, value] of Object.entries(raw ?? {})) {
    const lower = key.toLowerCase();
    const name = KNOWN[lower] ?? section.known[lower];
    if (name === undefined) {
      const unsupported = UNSUPPORTED[lower] ?? section.unsupported[lower];
      if (unsupported !== undefined) {
        report(
          section.codes.unsupported,
          [key],
          key,
          `${unsupported} is not supported yet; it has no effect`,
        );
      } else {
        report(
          section.codes.unknown,
          [key],
          key,
          `unknown setting; known: ${[...Object.values(KNOWN), ...Object.values(section.known)].join(', ')}`,
        );
      }
      continue;
    }
    const bad = (expected: string) =>
      report(section.codes.invalid, [key], name, `expected ${expected}, got ${describe(value)}`);
    if (section.known[lower] !== undefined) {
      extra(name, value, bad);
      continue;
    }
    switch (name) {
      case 'exposedByDefault':
      case 'useBindPortIP':
      case 'allowEmptyServices':
      case 'watch': {
        const flag = toBoolean(value);
        if (flag === null) {
          bad('true or false');
          break;
        }
        if (name === 'watch') watch = flag;
        else settings[name] = flag;
        break;
      }
      case 'endpoint':
      case 'constraints':
      case 'defaultRule':
      case 'network': {
        if (typeof value !== 'string' || (name === 'endpoint' && value.trim() === '')) {
          bad(name === 'endpoint' ? 'a Docker endpoint such as unix:///var/run/docker.sock' : 'a string');
          break;
        }
        settings[name] = name === 'endpoint' ? value.trim() : value;
        break;
      }
      case 'tls': {
        if (value === null) break;
        if (!isRecord(value)) {
          bad('a map with ca, cert, key, insecureSkipVerify');
          break;
        }
        tls = {};
        for (const [tlsKey, tlsValue] of Object.entries(value)) {
          const field = TLS_KEYS[tlsKey.toLowerCase()];
          if (field === undefined) {
            report(
              section.codes.unknown,
              [key, tlsKey],
              `tls.${tlsKey}`,
              'unknown setting; known: ca, cert, key, insecureSkipVerify',
            );
          } else if (field === 'insecureSkipVerify') {
            const flag = toBoolean(tlsValue);
            if (flag === null) {
              report(
                section.codes.invalid,
                [key, tlsKey],
                'tls.insecureSkipVerify',
                `expected true or false, got ${describe(tlsValue)}`,
              );
            } else if (flag) {
              report(
                section.codes.unsupported,
                [key, tlsKey],
                'tls.insecureSkipVerify',
                "is not supported: give the daemon's CA in tls.ca instead",
              );
            }
          } else if (typeof tlsValue !== 'string' || tlsValue === '') {
            report(
              section.codes.invalid,
              [key, tlsKey],
              `tls.${field}`,
              `expected a file path, got ${describe(tlsValue)}`,
            );
          } else {
            tls[field] = tlsValue;
          }
        }
        break;
      }
    }
  }
  if (invalid) return { config: null, errors };
  const endpoint = parseDockerEndpoint(settings.endpoint, tls, env);
  if (!endpoint.ok) {
    const written = Object.keys(raw ?? {}).find((k) => k.toLowerCase() === 'endpoint');
    report(
      section.codes.invalid,
      written === undefined ? [] : [written],
      'endpoint',
      `${endpoint.message}${written === undefined ? ' (from DOCKER_HOST)' : ''}`,
    );
    return { config: null, errors };
  }
  return { config: { settings, connection: endpoint.connection, watch }, errors };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** YAML booleans, and the strings Traefik's flag and environment parsers accept. */
export function toBoolean(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return null;
}

export function describe(value: unknown): string {
  if (value === null) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a map';
  return String(value);
}
