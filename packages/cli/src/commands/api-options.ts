// Options shared by every command that reads the controller API.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiTarget, DEFAULT_API } from '../api-client.js';
import { CliError } from '../output.js';
import { readSecret, type SecretFlags, stderrWarn } from '../secrets.js';
import type { OptionSpec } from './command.js';
import { str } from './command.js';

export const API_TOKEN: SecretFlags = {
  flag: 'api-token',
  fileFlag: 'api-token-file',
  env: 'BERTH_API_TOKEN',
};

export const apiOptions: Record<string, OptionSpec> = {
  api: {
    type: 'string',
    arg: 'host:port|url',
    help: 'controller API, e.g. 127.0.0.1:7380 or http://127.0.0.1:7380 (or BERTH_API)',
    default: DEFAULT_API,
  },
  'api-token-file': {
    type: 'string',
    arg: 'path',
    help: 'file holding the API bearer token (or BERTH_API_TOKEN)',
  },
  'api-token': {
    type: 'string',
    arg: 'token',
    help: 'API bearer token; visible to every local user in ps: prefer --api-token-file',
  },
  json: { type: 'boolean', help: 'print JSON for scripts' },
};

/** The API to read, and its token from `--api-token-file`, `--api-token` or `BERTH_API_TOKEN`. */
export function targetFrom(v: Record<string, unknown>, command: string): ApiTarget {
  return apiTarget({ api: str(v, 'api'), 'api-token': readSecret(v, API_TOKEN, stderrWarn(command)) });
}

/** Where the controller keeps its admin token, when the CLI runs on the controller's host. */
export const DEFAULT_CONTROLLER_DATA_DIR = '.berth/controller';

/** For commands that change the controller: the API options, plus the data dir holding `admin-token`. */
export const adminOptions: Record<string, OptionSpec> = {
  ...apiOptions,
  'data-dir': {
    type: 'string',
    arg: 'dir',
    help: "the controller's data dir: its admin-token authorizes the change when no API token is given",
    default: DEFAULT_CONTROLLER_DATA_DIR,
  },
};

/**
 * The API and a token that may change it: the API token when one is given, else the admin token
 * from the controller's data dir (readable only by the controller's user, as the join token is).
 */
export function adminTargetFrom(v: Record<string, unknown>, command: string): ApiTarget {
  const target = targetFrom(v, command);
  if (target.token !== undefined) return target;
  const dir = str(v, 'data-dir') ?? DEFAULT_CONTROLLER_DATA_DIR;
  let token: string;
  try {
    token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  } catch (err) {
    throw new CliError(
      'BERTH_CLI_NO_ADMIN_TOKEN',
      `\`berth ${command}\` changes the controller and needs its admin token: cannot read ${join(dir, 'admin-token')} (${(err as { code?: string }).code ?? 'unreadable'}). Run it as the controller's user with --data-dir, or give --api-token-file`,
    );
  }
  return { ...target, token };
}
