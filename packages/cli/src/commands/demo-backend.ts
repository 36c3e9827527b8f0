// `berth demo-backend`: a tiny HTTP server that says who it is, for `berth up` and for trying routes.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAddress } from '@berth/config';
import { CliError } from '../output.js';
import { type Command, str, untilSignal } from './command.js';

export const demoBackendCommand: Command = {
  name: 'demo-backend',
  summary: 'run a sample backend that echoes the request (used by `berth up`)',
  hidden: true,
  options: {
    listen: { type: 'string', arg: 'host:port', help: 'address', default: '127.0.0.1:0' },
    name: { type: 'string', arg: 'name', help: 'name in responses', default: 'demo' },
  },
  async run(v) {
    const name = str(v, 'name') ?? 'demo';
    const addr = parseAddress(str(v, 'listen') ?? '127.0.0.1:0');
    if (!addr) throw new CliError('BERTH_CLI_BAD_FLAG', '--listen expects host:port');
    const server = createServer((req, res) => {
      const body = `${JSON.stringify(
        {
          backend: name,
          method: req.method,
          url: req.url,
          host: req.headers.host,
          forwardedFor: req.headers['x-forwarded-for'] ?? null,
          forwardedProto: req.headers['x-forwarded-proto'] ?? null,
        },
        null,
        2,
      )}\n`;
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(addr.port, addr.host || undefined, resolve));
    const a = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ msg: 'demo backend listening', name, port: a.port })}\n`);
    await untilSignal();
    server.closeAllConnections();
    server.close();
    return 0;
  },
};
