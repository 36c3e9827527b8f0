// `providers.docker` of the static configuration: Traefik's keys and defaults, validated, with errors naming the setting.
import type { ConfigError, Source } from '@berth/config';
import { ErrorCodes } from '../../compiler/error-codes.js';
import type { DockerProviderSettings } from './container-facts.js';
import { type DockerConnection, type DockerTlsFiles, parseDockerEndpoint } from './docker-client.js';

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
const KNOWN = {
  endpoint: 'endpoint',
  exposedbydefault: 'exposedByDefault',
  constraints: 'constraints',
  defaultrule: 'defaultRule',
  network: 'network',
  usebindportip: 'useBindPortIP',
  allowemptyservices: 'allowEmptyServices',
  watch: 'watch',
  tls: 'tls',
} as const;

/** Traefik keys Berth does not implement yet: reported, never silently ignored. */
const UNSUPPORTED: Record<string, string> = {
  httpclienttimeout: 'httpClientTimeout',
  username: 'username',
  password: 'password',
  swarmmode: 'swarmMode (Swarm is `providers.swarm` in Traefik v3, not implemented yet)',
  swarmmoderefreshseconds: 'swarmModeRefreshSeconds',
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
  if (raw === undefined) return { docker: null, errors: [] };
  const errors: ConfigError[] = [];
  let invalid = false;
  const report = (code: string, rawPath: string[], path: string, message: string) => {
    const source = sourceOf(['providers', 'docker', ...rawPath]);
    errors.push(
      source === undefined
        ? { code, path: `providers.docker.${path}`, message: `providers.docker.${path}: ${message}` }
        : { code, path: `providers.docker.${path}`, message: `providers.docker.${path}: ${message}`, source },
    );
    if (code === ErrorCodes.DOCKER_SETTING_INVALID) invalid = true;
  };
  if (raw !== null && !isRecord(raw)) {
    report(ErrorCodes.DOCKER_SETTING_INVALID, [], '', 'must be a map of settings (or empty)');
    return { docker: null, errors };
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
    const name = (KNOWN as Record<string, string>)[lower];
    if (name === undefined) {
      const unsupported = UNSUPPORTED[lower];
      if (unsupported !== undefined) {
        report(
          ErrorCodes.DOCKER_SETTING_UNSUPPORTED,
          [key],
          key,
          `${unsupported} is not supported yet; it has no effect`,
        );
      } else {
        report(
          ErrorCodes.DOCKER_SETTING_UNKNOWN,
          [key],
          key,
          `unknown setting; known: ${Object.values(KNOWN).join(', ')}`,
        );
      }
      continue;
    }
    const bad = (expected: string) =>
      report(ErrorCodes.DOCKER_SETTING_INVALID, [key], name, `expected ${expected}, got ${describe(value)}`);
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
              ErrorCodes.DOCKER_SETTING_UNKNOWN,
              [key, tlsKey],
              `tls.${tlsKey}`,
              'unknown setting; known: ca, cert, key, insecureSkipVerify',
            );
          } else if (field === 'insecureSkipVerify') {
            const flag = toBoolean(tlsValue);
            if (flag === null) {
              report(
                ErrorCodes.DOCKER_SETTING_INVALID,
                [key, tlsKey],
                'tls.insecureSkipVerify',
                `expected true or false, got ${describe(tlsValue)}`,
              );
            } else if (flag) {
              report(
                ErrorCodes.DOCKER_SETTING_UNSUPPORTED,
                [key, tlsKey],
                'tls.insecureSkipVerify',
                "is not supported: give the daemon's CA in tls.ca instead",
              );
            }
          } else if (typeof tlsValue !== 'string' || tlsValue === '') {
            report(
              ErrorCodes.DOCKER_SETTING_INVALID,
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
  if (invalid) return { docker: null, errors };
  const endpoint = parseDockerEndpoint(settings.endpoint, tls, env);
  if (!endpoint.ok) {
    const written = Object.keys(raw ?? {}).find((k) => k.toLowerCase() === 'endpoint');
    report(
      ErrorCodes.DOCKER_SETTING_INVALID,
      written === undefined ? [] : [written],
      'endpoint',
      `${endpoint.message}${written === undefined ? ' (from DOCKER_HOST)' : ''}`,
    );
    return { docker: null, errors };
  }
  return { docker: { settings, connection: endpoint.connection, watch }, errors };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** YAML booleans, and the strings Traefik's flag and environment parsers accept. */
function toBoolean(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return null;
}

function describe(value: unknown): string {
  if (value === null) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a map';
  return String(value);
}
