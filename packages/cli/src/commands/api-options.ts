// Options shared by every command that reads the controller API.
import { type ApiTarget, apiTarget, DEFAULT_API } from '../api-client.js';
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
