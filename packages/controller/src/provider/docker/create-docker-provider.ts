// Builds the Docker provider from parsed settings: the one place the controller needs to know about.
import type { ConfigError } from '@berth/config';
import { ErrorCodes } from '../../compiler/error-codes.js';
import type { ContainerDecoder } from './container-facts.js';
import { type DockerClient, dockerodeClient } from './docker-client.js';
import { DockerProvider, type DockerProviderLogger, type DockerProviderOptions } from './docker-provider.js';
import type { DockerProviderConfig } from './docker-settings.js';
import { openEngineClient } from './engine-link.js';

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
  const opened = openEngineClient(
    () => deps.client ?? dockerodeClient(config.connection),
    'docker',
    ErrorCodes.DOCKER_SETTING_INVALID,
  );
  if (!opened.ok) return opened;
  const { client } = opened;
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
