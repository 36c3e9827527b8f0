// `providers.swarm` of the static configuration: Traefik v3's keys and defaults (its Docker keys plus
// refreshSeconds), validated, with errors naming the setting.
import { type ConfigError, parseDuration, type Source } from '@berth/config';
import { ErrorCodes } from '../../compiler/error-codes.js';
import type { DockerProviderSettings } from '../docker/container-facts.js';
import type { DockerConnection } from '../docker/docker-endpoint.js';
import { type EngineSection, parseEngineSettings } from '../docker/docker-settings.js';

/** Traefik's default poll interval for Swarm. */
export const DEFAULT_SWARM_REFRESH_SECONDS = 15;

/** `providers.swarm` with Traefik's defaults applied (except exposedByDefault: false, as for Docker). */
export interface SwarmProviderSettings extends DockerProviderSettings {
  /** Services and tasks are read again this often (seconds), events or not. */
  refreshSeconds: number;
}

export interface SwarmProviderConfig {
  settings: SwarmProviderSettings;
  connection: DockerConnection;
  /** Traefik's `watch` (default true): poll and follow events, or read once at start. */
  watch: boolean;
}

export interface SwarmSettingsResult {
  /** Null when `providers.swarm` is absent, or has an invalid value (then `errors` says which). */
  swarm: SwarmProviderConfig | null;
  errors: ConfigError[];
}

const SWARM_SECTION: EngineSection = {
  name: 'swarm',
  codes: {
    invalid: ErrorCodes.SWARM_SETTING_INVALID,
    unknown: ErrorCodes.SWARM_SETTING_UNKNOWN,
    unsupported: ErrorCodes.SWARM_SETTING_UNSUPPORTED,
  },
  known: { refreshseconds: 'refreshSeconds' },
  unsupported: {},
};

/**
 * Parses `raw`, the value of `providers.swarm` (undefined when absent; null or `{}` enables it with
 * the defaults). `refreshSeconds` takes seconds (`30`) or a duration (`30s`, `1m`), as Traefik does.
 */
export function parseSwarmSettings(
  raw: unknown,
  env: Record<string, string | undefined> = {},
  sourceOf: (rawPath: string[]) => Source | undefined = () => undefined,
): SwarmSettingsResult {
  let refreshSeconds = DEFAULT_SWARM_REFRESH_SECONDS;
  let refreshInvalid = false;
  const { config, errors } = parseEngineSettings(SWARM_SECTION, raw, env, sourceOf, (_name, value, bad) => {
    const ms = typeof value === 'number' || typeof value === 'string' ? parseDuration(value) : null;
    if (ms === null || ms < 1000) {
      bad('seconds (15) or a duration (15s) of at least one second');
      refreshInvalid = true;
      return;
    }
    refreshSeconds = ms / 1000;
  });
  if (config === null || refreshInvalid) return { swarm: null, errors };
  return {
    swarm: {
      settings: { ...config.settings, refreshSeconds },
      connection: config.connection,
      watch: config.watch,
    },
    errors,
  };
}
