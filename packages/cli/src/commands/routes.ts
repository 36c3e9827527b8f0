// `berth routes`: every router, enabled or not, with its rule, service and errors; `--tcp` for TCP routers.
import type { RouterStatus, TcpRouterStatus } from '@berth/controller';
import { apiGet } from '../api-client.js';
import { table } from '../output.js';
import { apiOptions, targetFrom } from './api-options.js';
import { bool, type Command } from './command.js';

export const routesCommand: Command = {
  name: 'routes',
  summary: 'list HTTP routers (or TCP routers with --tcp) with their rule, service and status',
  options: {
    ...apiOptions,
    tcp: { type: 'boolean', help: 'list TCP routers (SNI passthrough, TLS, plain TCP) instead' },
  },
  examples: ['berth routes', 'berth routes --tcp --json'],
  async run(v) {
    const target = targetFrom(v);
    const tcp = bool(v, 'tcp');
    const routers = tcp
      ? await apiGet<TcpRouterStatus[]>(target, '/api/v1/tcp/routers')
      : await apiGet<RouterStatus[]>(target, '/api/v1/routers');
    if (bool(v, 'json')) {
      process.stdout.write(`${JSON.stringify(routers, null, 2)}\n`);
      return 0;
    }
    const head = ['ROUTER', 'STATUS', 'ENTRYPOINTS', 'PRIORITY', 'SERVICE', 'RULE'];
    const rows = routers.map((r) => [
      r.name,
      r.status,
      r.entryPoints.join(','),
      String(r.priority),
      r.service,
      r.rule,
      ...('tls' in r && typeof r.tls === 'string' ? [r.tls] : []),
      r.errors.map((e) => e.code).join(',') || '-',
    ]);
    process.stdout.write(`${table([...head, ...(tcp ? ['TLS'] : []), 'ERRORS'], rows)}\n`);
    return 0;
  },
};
