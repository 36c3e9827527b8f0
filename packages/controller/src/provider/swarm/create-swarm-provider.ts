// Builds the Swarm provider from parsed settings: the one place the controller needs to know about.
import { type ConfigError, configError } from '@berth/config';
import { ErrorCodes } from '../../compiler/error-codes.js';
import type { DockerProviderLogger } from '../docker/engine-link.js';
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
  let client: SwarmClient;
  try {
    client = deps.client ?? dockerodeSwarmClient(config.connection);
  } catch (err) {
    return {
      ok: false,
      error: configError(
        ErrorCodes.SWARM_SETTING_INVALID,
        'providers.swarm.tls',
        `providers.swarm.tls: cannot read a certificate file: ${(err as Error).message}`,
      ),
    };
  }
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
