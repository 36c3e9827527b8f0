// `berth token`: prints the join token nodes need, read from the controller's data dir;
// `berth token rotate` replaces it through the controller's API; `berth token init` makes it before
// the controller's first start (for an orchestrator's secret store).
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseDuration } from '@berth/config';
import { apiCall } from '../api-client.js';
import { CliError } from '../output.js';
import { adminOptions, adminTargetFrom, DEFAULT_CONTROLLER_DATA_DIR } from './api-options.js';
import { bool, type Command, str } from './command.js';

/** Longest grace period the controller accepts. */
const MAX_GRACE_MS = 30 * 24 * 3600 * 1000;

export const tokenCommand: Command = {
  name: 'token',
  summary:
    "print the join token for proxy nodes (from the controller's data dir); `token rotate` replaces it",
  usage: '[rotate [--grace DURATION] | init --advertise HOST:PORT] [options]',
  positionals: true,
  options: {
    ...adminOptions,
    grace: {
      type: 'string',
      arg: 'duration',
      help: 'with rotate: how long the old token still enrolls new nodes (e.g. 10m, 1h; default 0: refused at once)',
    },
    advertise: {
      type: 'string',
      arg: 'host:port',
      help: "with init: the address nodes dial, as the controller's --advertise will be",
    },
    json: {
      type: 'boolean',
      help: 'print {"token", "file"} (rotate: {"token", "previousExpiresAt"}) as JSON',
    },
  },
  examples: [
    'berth token > join-token && chmod 600 join-token && berth proxy --join-file join-token',
    'berth token rotate',
    'berth token rotate --grace 1h',
    'berth token init --advertise controller:7443 --data-dir /var/lib/berth | docker secret create berth-join-token -',
  ],
  async run(v, positionals) {
    const [verb, ...extra] = positionals;
    if (verb === 'rotate' && extra.length === 0) return rotate(v);
    if (verb === 'init' && extra.length === 0) return init(v);
    if (verb !== undefined)
      throw new CliError(
        'BERTH_CLI_USAGE',
        'usage: berth token [rotate [--grace DURATION] | init --advertise HOST:PORT]',
      );
    if (str(v, 'advertise') !== undefined)
      throw new CliError('BERTH_CLI_BAD_FLAG', '--advertise goes with `berth token init`');
    if (str(v, 'grace') !== undefined)
      throw new CliError('BERTH_CLI_BAD_FLAG', '--grace goes with `berth token rotate`');
    const dir = str(v, 'data-dir') ?? DEFAULT_CONTROLLER_DATA_DIR;
    let token: string;
    try {
      token = (await readFile(join(dir, 'join-token'), 'utf8')).trim();
    } catch {
      throw new CliError(
        'BERTH_CLI_NO_TOKEN',
        `no join token in ${dir}: start the controller first, or pass its --data-dir`,
      );
    }
    if (bool(v, 'json')) {
      process.stdout.write(`${JSON.stringify({ token, file: resolve(dir, 'join-token') }, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`${token}\n`);
    return 0;
  },
};

async function rotate(v: Record<string, unknown>): Promise<number> {
  const graceText = str(v, 'grace');
  const graceMs = graceText === undefined ? 0 : parseDuration(graceText);
  if (graceMs === null || graceMs < 0 || graceMs > MAX_GRACE_MS)
    throw new CliError(
      'BERTH_CLI_BAD_FLAG',
      `--grace must be a duration from 0 to 720h (e.g. 10m, 1h), got "${graceText}"`,
    );
  const target = adminTargetFrom(v, 'token rotate');
  const rotated = await apiCall<{ token: string; previousExpiresAt: string | null }>(
    target,
    'POST',
    '/api/v1/token/rotate',
    { graceMs: Math.round(graceMs) },
  );
  if (bool(v, 'json')) {
    process.stdout.write(`${JSON.stringify(rotated, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${rotated.token}\n`);
  process.stderr.write(
    rotated.previousExpiresAt
      ? `rotated: new nodes enroll with this token; the old one also enrolls them until ${rotated.previousExpiresAt}. Joined nodes keep their certificates.\n`
      : 'rotated: new nodes enroll with this token; the old one is refused from now on. Joined nodes keep their certificates.\n',
  );
  return 0;
}

/**
 * Creates the controller's CA and join secret in its data dir if missing (nothing is replaced) and
 * prints the token: what an orchestrator's secret store needs before anything runs.
 */
async function init(v: Record<string, unknown>): Promise<number> {
  const advertise = str(v, 'advertise');
  if (advertise === undefined)
    throw new CliError(
      'BERTH_CLI_BAD_FLAG',
      'token init needs --advertise HOST:PORT, the address nodes will dial (the controller gets the same --advertise)',
    );
  if (str(v, 'grace') !== undefined)
    throw new CliError('BERTH_CLI_BAD_FLAG', '--grace goes with `berth token rotate`');
  const dir = str(v, 'data-dir') ?? DEFAULT_CONTROLLER_DATA_DIR;
  const { initJoinToken } = await import('@berth/controller');
  let result: Awaited<ReturnType<typeof initJoinToken>>;
  try {
    result = await initJoinToken(dir, advertise);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = typeof code === 'string' ? `${(err as Error).message} (${code})` : (err as Error).message;
    throw new CliError('BERTH_CLI_TOKEN_INIT', `cannot prepare ${dir}: ${message}`);
  }
  if (bool(v, 'json')) {
    process.stdout.write(
      `${JSON.stringify({ token: result.token, file: resolve(dir, 'join-token'), createdCa: result.createdCa }, null, 2)}\n`,
    );
    return 0;
  }
  process.stdout.write(`${result.token}\n`);
  process.stderr.write(
    result.createdCa
      ? `created the controller CA and join secret in ${dir}; start the controller there with --advertise ${advertise}\n`
      : `${dir} already holds a controller CA: this is its token for --advertise ${advertise}\n`,
  );
  return 0;
}
