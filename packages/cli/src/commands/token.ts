// `berth token`: prints the join token nodes need, read from the controller's data dir;
// `berth token rotate` replaces it through the controller's API.
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
  usage: '[rotate [--grace DURATION]] [options]',
  positionals: true,
  options: {
    ...adminOptions,
    grace: {
      type: 'string',
      arg: 'duration',
      help: 'with rotate: how long the old token still enrolls new nodes (e.g. 10m, 1h; default 0: refused at once)',
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
  ],
  async run(v, positionals) {
    const [verb, ...extra] = positionals;
    if (verb === 'rotate' && extra.length === 0) return rotate(v);
    if (verb !== undefined)
      throw new CliError('BERTH_CLI_USAGE', 'usage: berth token [rotate [--grace DURATION]]');
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
