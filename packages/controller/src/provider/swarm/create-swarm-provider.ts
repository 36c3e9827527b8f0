// Builds the Swarm provider from parsed settings: the one place the controller needs to know about.
import type { ConfigError } from '@berth/config';
import { ErrorCodes } from '../../compiler/error-codes.js';
import { type DockerProviderLogger, openEngineClient } from '../docker/engine-link.js';
import type { SwarmDecoder } from './decode-swarm.js';
import { dockerodeSwarmClient, type SwarmClient } from './swarm-client.js';
import { SwarmProvider, type SwarmProviderOptions } from './swarm-provider.js';
import type { SwarmProviderConfig } from './swarm-settings.js';

export interface CreateSwarmProviderDeps {
  decode: SwarmDecoder;
  logger?: DockerProviderLogger;
  /** Replaces dockerode (tests). */
  client?: SwarmClient;
  /** Timing overrides (tests). */
  tuning?: Pick<
    SwarmProviderOptions,
    'debounceMs' | 'settleMs' | 'settleReads' | 'updateReads' | 'reconnectMinMs' | 'reconnectMaxMs' | 'pingMs'
  >;
}

/** The provider, or the error that prevents it (an unreadable TLS file); never throws. */
export function createSwarmProvider(
  config: SwarmProviderConfig,
  deps: CreateSwarmProviderDeps,
): { ok: true; provider: SwarmProvider } | { ok: false; error: ConfigError } {
  const opened = openEngineClient(
    () => deps.client ?? dockerodeSwarmClient(config.connection),
    'swarm',
    ErrorCodes.SWARM_SETTING_INVALID,
  );
  if (!opened.ok) return opened;
  const { client } = opened;
  const provider = new SwarmProvider({
    settings: config.settings,
    decode: deps.decode,
    client,
    watch: config.watch,
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    ...deps.tuning,
  });
  return { ok: true, provider };
}
