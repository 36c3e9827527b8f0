// A minimal HTTP client over node:http, so tests control Host, hop-by-hop headers and sockets.

import type { Agent, IncomingHttpHeaders } from 'node:http';
import { request } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Client-side port of the connection that carried the exchange. */
  localPort: number;
}

export interface Call {
  host?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string;
  agent?: Agent | false;
}

export function call(port: number, opts: Call = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: { ...(opts.host === undefined ? {} : { host: opts.host }), ...opts.headers },
        agent: opts.agent ?? false,
      },
      (res) => {
        const localPort = res.socket.localPort ?? 0;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            localPort,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
