// Options shared by every command that reads the controller API.
import { type ApiTarget, apiTarget, DEFAULT_API } from '../api-client.js';
import type { OptionSpec } from './command.js';
import { str } from './command.js';

export const apiOptions: Record<string, OptionSpec> = {
  api: {
    type: 'string',
    arg: 'host:port|url',
    help: 'controller API, e.g. 127.0.0.1:7380 or http://127.0.0.1:7380 (or BERTH_API)',
    default: DEFAULT_API,
  },
  'api-token': { type: 'string', arg: 'token', help: 'API bearer token (or BERTH_API_TOKEN)' },
  json: { type: 'boolean', help: 'print JSON for scripts' },
};

export function targetFrom(v: Record<string, unknown>): ApiTarget {
  return apiTarget({ api: str(v, 'api'), 'api-token': str(v, 'api-token') });
}
