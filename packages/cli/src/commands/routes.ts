// `berth routes`: every router, enabled or not, with its rule, service and errors.
import type { RouterStatus } from '@berth/controller';
import { apiGet } from '../api-client.js';
import { table } from '../output.js';
import { apiOptions, targetFrom } from './api-options.js';
import { bool, type Command } from './command.js';

export const routesCommand: Command = {
  name: 'routes',
  summary: 'list HTTP routers with their rule, service and status',
  options: apiOptions,
  async run(v) {
    const target = targetFrom(v);
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
