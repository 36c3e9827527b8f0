// Request contexts and a stand-in Forward for testing service handlers without sockets.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { RequestContext, ResponseBody } from '../../src/http/context.js';
import type { Forward, ForwardOutcome, ForwardTarget } from '../../src/http/forward-types.js';

export interface Answer {
  status: number;
  headers: OutgoingHttpHeaders;
  body: ResponseBody;
}

export interface TestContext {
  ctx: RequestContext;
  /** What reached `ctx.respond`, in order. */
  answers: Answer[];
}

export function fakeContext(
  opts: { headers?: IncomingHttpHeaders; method?: string; url?: string; body?: string } = {},
): TestContext {
  const req = new IncomingMessage(new Socket());
  req.method = opts.method ?? 'GET';
  req.url = opts.url ?? '/';
  req.headers = opts.headers ?? {};
  req.rawHeaders = Object.entries(req.headers).flatMap(([k, v]) =>
    Array.isArray(v) ? v.flatMap((x) => [k, x]) : [k, String(v)],
  );
  if (opts.body !== undefined) req.push(Buffer.from(opts.body));
  req.push(null);
  const answers: Answer[] = [];
  const ctx: RequestContext = {
    req,
    res: new ServerResponse(req),
    view: {
      host: 'example.test',
      path: '/',
      method: req.method,
      headers: req.headers,
      query: '',
      clientIp: '127.0.0.1',
    },
    target: req.url,
    clientIp: '127.0.0.1',
    scheme: 'http',
    startedAt: process.hrtime.bigint(),
    log: { entryPoint: 'web' },
    respond: async (status, headers, body) => {
      answers.push({ status, headers, body });
    },
    upstreamHeaders: {},
    signal: new AbortController().signal,
  };
  return { ctx, answers };
}

export interface StandIn {
  forward: Forward;
  /** Every target forwarded to, in order. */
  targets: ForwardTarget[];
}

/** Answers through `ctx.respond` like the real forwarder; `outcome` decides per server. */
export function standInForward(
  outcome: (target: ForwardTarget) => ForwardOutcome = () => ({ kind: 'response', status: 200 }),
): StandIn {
  const targets: ForwardTarget[] = [];
  const forward: Forward = async (ctx, target) => {
    targets.push(target);
    const result = outcome(target);
    const status = result.kind === 'response' ? result.status : 502;
    await ctx.respond(status, { 'x-server': target.server.origin }, target.server.origin);
    return result;
  };
  return { forward, targets };
}
