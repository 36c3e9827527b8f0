// A stand-in RequestContext for observability tests: the fields the access log and metrics read, nothing live.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext, RequestLog } from '../../src/http/context.js';

export interface StubOptions {
  method?: string;
  url?: string;
  host?: string;
  headers?: Record<string, string>;
  clientIp?: string;
  startedAt?: bigint;
  log?: Partial<RequestLog>;
}

export function stubContext(options: StubOptions = {}): RequestContext {
  const url = options.url ?? '/';
  const headers = { host: options.host ?? 'app.test', ...options.headers };
  const req = { method: options.method ?? 'GET', url, headers } as unknown as IncomingMessage;
  const [path = '/', query = ''] = url.split('?', 2);
  return {
    req,
    res: {} as ServerResponse,
    view: {
      host: options.host ?? 'app.test',
      path,
      method: options.method ?? 'GET',
      headers,
      query,
      clientIp: options.clientIp ?? '127.0.0.1',
    },
    target: url,
    clientIp: options.clientIp ?? '127.0.0.1',
    scheme: 'http',
    startedAt: options.startedAt ?? 1_000_000_000n,
    log: { entryPoint: 'web', ...options.log },
    respond: async () => {},
    upstreamHeaders: {},
    signal: new AbortController().signal,
  };
}
