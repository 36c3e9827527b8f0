// Builds the Docker provider from parsed settings: the one place the controller needs to know about.
import { type ConfigError, configError } from '@berth/config';
import { ErrorCodes } from '../../compiler/error-codes.js';
import type { ContainerDecoder } from './container-facts.js';
import { type DockerClient, dockerodeClient } from './docker-client.js';
import { DockerProvider, type DockerProviderLogger, type DockerProviderOptions } from './docker-provider.js';
import type { DockerProviderConfig } from './docker-settings.js';

export interface CreateDockerProviderDeps {
  decode: ContainerDecoder;
  logger?: DockerProviderLogger;
  /** Replaces dockerode (tests). */
  client?: DockerClient;
  /** Timing overrides (tests). */
  tuning?: Pick<DockerProviderOptions, 'debounceMs' | 'reconnectMinMs' | 'reconnectMaxMs' | 'pingMs'>;
}

/** The provider, or the error that prevents it (an unreadable TLS file); never throws. */
export function createDockerProvider(
  config: DockerProviderConfig,
  deps: CreateDockerProviderDeps,
): { ok: true; provider: DockerProvider } | { ok: false; error: ConfigError } {
  let client: DockerClient;
  try {
    client = deps.client ?? dockerodeClient(config.connection);
  } catch (err) {
    return {
      ok: false,
      error: configError(
        ErrorCodes.DOCKER_SETTING_INVALID,
        'providers.docker.tls',
        `providers.docker.tls: cannot read a certificate file: ${(err as Error).message}`,
      ),
    };
  }
  const provider = new DockerProvider({
    settings: config.settings,
    decode: deps.decode,
    client,
    watch: config.watch,
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    ...deps.tuning,
  });
  return { ok: true, provider };
}
