// `berth controller`: the only process with the Docker socket; serves the node channel and the internal API.

import type { DockerProviderConfig, SwarmProviderConfig } from '@berth/controller';
import { logProcessWarnings, writeFileAtomic } from '@berth/protocol';
import { parseApiAddress } from '../api-client.js';
import { createLogger } from '../logger.js';
import { CliError, rethrowAsCliError } from '../output.js';
import { readSecret } from '../secrets.js';
import { API_TOKEN } from './api-options.js';
import { type Command, millis, str, strs, untilSignal } from './command.js';
import { parseEntryPointFlags } from './entry-point-flags.js';

/**
 * `--docker[=endpoint]`: the Docker provider with Traefik's defaults (exposedByDefault false), the
 * endpoint given or DOCKER_HOST or the local socket. A bad endpoint is a BERTH_CLI_BAD_FLAG.
 */
export async function parseDockerFlag(
  value: string | undefined,
  env: Record<string, string | undefined> = process.env,
): Promise<DockerProviderConfig | undefined> {
  if (value === undefined) return undefined;
  const { parseDockerSettings } = await import('@berth/controller');
  const parsed = parseDockerSettings(value === '' ? {} : { endpoint: value }, env);
  if (parsed.docker === null) {
    const reason = parsed.errors
      .map((e) => e.message.replace(/^providers\.docker\.endpoint: /, ''))
      .join('; ');
    throw new CliError('BERTH_CLI_BAD_FLAG', `--docker: ${reason}`);
  }
  return parsed.docker;
}

/**
 * `--swarm[=endpoint]`: the Swarm provider with Traefik's defaults (exposedByDefault false, a read
 * every 15 s plus events), the endpoint given or DOCKER_HOST or the local socket.
 */
export async function parseSwarmFlag(
  value: string | undefined,
  env: Record<string, string | undefined> = process.env,
): Promise<SwarmProviderConfig | undefined> {
  if (value === undefined) return undefined;
  const { parseSwarmSettings } = await import('@berth/controller');
  const parsed = parseSwarmSettings(value === '' ? {} : { endpoint: value }, env);
  if (parsed.swarm === null) {
    const reason = parsed.errors
      .map((e) => e.message.replace(/^providers\.swarm\.endpoint: /, ''))
      .join('; ');
    throw new CliError('BERTH_CLI_BAD_FLAG', `--swarm: ${reason}`);
  }
  return parsed.swarm;
}

/** Shorter API tokens are warned about: 32 characters of base64 carry 192 bits. */
const MIN_API_TOKEN_LENGTH = 32;

export const controllerCommand: Command = {
  name: 'controller',
  summary: 'run the controller: providers, compiler, snapshot store, node channel, API',
  options: {
    config: { type: 'string', arg: 'file', help: 'static configuration (entryPoints, providers.file)' },
    file: {
      type: 'string',
      arg: 'path',
      help: 'dynamic configuration: a YAML file or a directory of them (watched)',
    },
    entrypoint: {
      type: 'string',
      multiple: true,
      arg: 'name=address',
      help: 'declare an entry point, e.g. web=:80 (repeatable; overrides the config file)',
    },
    'data-dir': {
      type: 'string',
      arg: 'dir',
      help: 'CA, join secret and snapshots',
      default: '.berth/controller',
    },
    listen: {
      type: 'string',
      arg: 'host:port',
      help: 'node channel (WSS) address',
      default: '127.0.0.1:7443',
    },
    advertise: {
      type: 'string',
      arg: 'host:port',
      help: 'address nodes dial, put in join tokens (default: --listen)',
    },
    api: {
      type: 'string',
      arg: 'host:port|url',
      help: 'internal API address, host:port or http://host:port',
      default: '127.0.0.1:7380',
    },
    'join-token-file': {
      type: 'string',
      arg: 'path',
      help: 'also write the join token here (0600, again on rotation), e.g. a volume nodes mount read-only',
    },
    'api-host': {
      type: 'string',
      multiple: true,
      arg: 'name',
      help: 'a name the API answers to besides localhost and IP addresses, e.g. lb1.internal (repeatable; * = any)',
    },
    'api-token-file': {
      type: 'string',
      arg: 'path',
      help: 'file holding the API bearer token (or BERTH_API_TOKEN; required off loopback, else generated)',
    },
    'api-token': {
      type: 'string',
      arg: 'token',
      help: 'API bearer token; visible to every local user in ps: prefer --api-token-file',
    },
    'ready-file': {
      type: 'string',
      arg: 'file',
      help: 'write {api, nodes, token} as JSON (0600) once ready',
    },
    'heartbeat-ms': { type: 'string', arg: 'ms', help: 'node heartbeat interval', default: '5000' },
    'node-expiry-ms': {
      type: 'string',
      arg: 'ms',
      help: 'how long a disconnected node stays listed before it is forgotten (one stopped with SIGTERM leaves at once)',
      default: '600000',
    },
    'node-cert-ttl-ms': {
      type: 'string',
      arg: 'ms',
      help: 'validity of the certificates nodes get at enrollment; they renew at half of it (default 30 days)',
      default: '2592000000',
    },
    docker: {
      type: 'string',
      arg: 'endpoint',
      bare: '',
      help: 'watch Docker with the default settings (endpoint: DOCKER_HOST, else the local socket); replaces providers.docker of --config',
    },
    swarm: {
      type: 'string',
      arg: 'endpoint',
      bare: '',
      help: 'watch a Swarm manager with the default settings (endpoint: DOCKER_HOST, else the local socket); replaces providers.swarm of --config',
    },
    'log-level': { type: 'string', arg: 'level', help: 'pino log level', default: 'info' },
  },
  examples: [
    'berth controller --config berth.yaml',
    'berth controller --file ./dynamic --entrypoint web=:80 --listen 0.0.0.0:7443 --advertise lb1.internal:7443',
  ],
  async run(v) {
    const logger = createLogger('controller', str(v, 'log-level') ?? 'info');
    // Before the controller's modules load (a second or more on a busy host): a warning they emit is JSON too.
    logProcessWarnings(logger);
    // Loaded here, not at the top: `berth controller --help` needs none of fastify or the PKI. The
    // module alone, not the package's index, which brings every provider (dockerode) with it.
    const { startController } = await import('@berth/controller/controller');
    const apiToken = readSecret(v, API_TOKEN, (code, message) => logger.warn({ code }, message));
    if (apiToken !== undefined && apiToken.length < MIN_API_TOKEN_LENGTH) {
      logger.warn(
        { code: 'BERTH_CLI_API_TOKEN_SHORT', length: apiToken.length },
        `the API token has ${apiToken.length} characters: use at least ${MIN_API_TOKEN_LENGTH} random ones (openssl rand -base64 32)`,
      );
    }
    const configFile = str(v, 'config');
    const providerFile = str(v, 'file');
    const advertise = str(v, 'advertise');
    const joinTokenFile = str(v, 'join-token-file');
    const apiHosts = strs(v, 'api-host');
    const docker = await parseDockerFlag(str(v, 'docker'));
    const swarm = await parseSwarmFlag(str(v, 'swarm'));
    const acmeTiming = parseAcmeTiming(process.env['BERTH_ACME_TIMING']);
    // What the user can fix (a file it cannot write, ...) is one line with its code, no stack trace.
    const controller = await startController({
      dataDir: str(v, 'data-dir') ?? '.berth/controller',
      listen: str(v, 'listen') ?? '127.0.0.1:7443',
      api: parseApiAddress(str(v, 'api') ?? '127.0.0.1:7380').hostPort,
      entryPoints: parseEntryPointFlags(strs(v, 'entrypoint')),
      heartbeatMs: millis(v, 'heartbeat-ms', 5000),
      nodeExpiryMs: millis(v, 'node-expiry-ms', 600_000),
      nodeCertTtlMs: millis(v, 'node-cert-ttl-ms', 30 * 24 * 3600 * 1000, 10_000),
      logger,
      ...(configFile ? { configFile } : {}),
      ...(providerFile ? { providerFile } : {}),
      ...(advertise ? { advertise } : {}),
      ...(joinTokenFile ? { joinTokenFile } : {}),
      ...(apiToken ? { apiToken } : {}),
      ...(apiHosts.length > 0 ? { apiHosts } : {}),
      ...(docker ? { docker } : {}),
      ...(swarm ? { swarm } : {}),
      ...(acmeTiming ? { acmeTiming } : {}),
    }).catch(rethrowAsCliError);
    const readyFile = str(v, 'ready-file');
    if (readyFile) {
      await writeFileAtomic(
        readyFile,
        JSON.stringify({
          pid: process.pid,
          api: controller.apiUrl,
          nodes: controller.nodesUrl,
          token: controller.joinToken,
        }),
        0o600,
      );
    }
    const sig = await untilSignal();
    logger.info({ signal: sig }, 'stopping');
    await controller.close();
    return 0;
  },
};

/** setTimeout's longest delay; Node fires a longer one after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `BERTH_ACME_TIMING`: JSON of the ACME scheduler's knobs in milliseconds (`minRenewalGapMs`,
 * `maxJitterMs`, `minRetryMs`, `presentTimeoutMs`), for tests and for watching a renewal happen;
 * production needs none of it.
 */
export function parseAcmeTiming(text: string | undefined): Record<string, number> | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const keys = ['minRenewalGapMs', 'maxJitterMs', 'minRetryMs', 'presentTimeoutMs'];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError('BERTH_CLI_BAD_FLAG', `BERTH_ACME_TIMING is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CliError('BERTH_CLI_BAD_FLAG', 'BERTH_ACME_TIMING must be a JSON object');
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!keys.includes(key))
      throw new CliError(
        'BERTH_CLI_BAD_FLAG',
        `BERTH_ACME_TIMING: unknown key "${key}" (known: ${keys.join(', ')})`,
      );
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw new CliError(
        'BERTH_CLI_BAD_FLAG',
        `BERTH_ACME_TIMING.${key} must be a number of milliseconds ≥ 0`,
      );
    // A setTimeout delay: above 2^31-1 ms Node fires it after 1 ms, every challenge would time out.
    if (key === 'presentTimeoutMs' && value > MAX_TIMER_MS)
      throw new CliError(
        'BERTH_CLI_BAD_FLAG',
        `BERTH_ACME_TIMING.presentTimeoutMs must be at most ${MAX_TIMER_MS} ms (24.8 days)`,
      );
    out[key] = value;
  }
  return out;
}
