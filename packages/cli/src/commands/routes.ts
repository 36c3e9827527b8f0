// `berth routes`: every router, enabled or not, with its rule, service and errors.
import type { RouterStatus } from '@berth/controller';
import { apiGet, apiTarget } from '../api-client.js';
import { table } from '../output.js';
import { bool, type Command, str } from './command.js';

export const routesCommand: Command = {
  name: 'routes',
  summary: 'list HTTP routers with their rule, service and status',
  options: {
    api: {
      type: 'string',
      arg: 'url',
      help: 'controller API (or BERTH_API)',
      default: 'http://127.0.0.1:7380',
    },
    'api-token': { type: 'string', arg: 'token', help: 'API bearer token (or BERTH_API_TOKEN)' },
    json: { type: 'boolean', help: 'print JSON for scripts' },
  },
  async run(v) {
    const target = apiTarget({ api: str(v, 'api'), 'api-token': str(v, 'api-token') });
    const routers = await apiGet<RouterStatus[]>(target, '/api/v1/routers');
    if (bool(v, 'json')) {
      process.stdout.write(`${JSON.stringify(routers, null, 2)}\n`);
      return 0;
    }
    const rows = routers.map((r) => [
      r.name,
      r.status,
      r.entryPoints.join(','),
      String(r.priority),
      r.service,
      r.rule,
      r.errors.map((e) => e.code).join(',') || '-',
    ]);
    process.stdout.write(
      `${table(['ROUTER', 'STATUS', 'ENTRYPOINTS', 'PRIORITY', 'SERVICE', 'RULE', 'ERRORS'], rows)}\n`,
    );
    return 0;
  },
};
