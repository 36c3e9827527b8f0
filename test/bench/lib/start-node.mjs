// A proxy node started through startProxyNode alone, without the CLI: measures what the node itself costs at start.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { parseToken } from '@berth/protocol';
import { startProxyNode } from '@berth/proxy/node';
import { pino } from 'pino';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'bench' },
    'data-dir': { type: 'string' },
    entrypoint: { type: 'string', multiple: true, default: [] },
    'reconnect-max-ms': { type: 'string', default: '10000' },
    'log-level': { type: 'string', default: 'info' },
    workers: { type: 'string' },
  },
});
const logger = pino({ name: 'proxy', level: values['log-level'] }).child({ node: values.name });
const node = await startProxyNode({
  token: parseToken(process.env.BERTH_JOIN_TOKEN ?? ''),
  name: values.name,
  dataDir: values['data-dir'] ?? '.berth/proxy',
  logger,
  entryPointOverrides: Object.fromEntries(
    values.entrypoint.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  ),
  reconnectMaxMs: Number(values['reconnect-max-ms']),
  workers: values.workers === undefined ? availableParallelism() : Number(values.workers),
});
for (const signal of ['SIGTERM', 'SIGINT'])
  process.once(signal, () => {
    node.close().then(() => process.exit(0));
  });
