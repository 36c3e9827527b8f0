// Group-B middlewares composed through chain: each keeps its promise when others wrap or repeat it.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { HttpMiddleware } from '@berth/config';
import type { Handler, Middleware, RequestContext } from '../src/http/context.js';
import { middlewareFactories } from '../src/http/middlewares/index.js';
import type { Backend } from './support/backend.js';
import { closedPort, startBackend } from './support/backend.js';
import type { Harness } from './support/mw-b-harness.js';
import { buildContext, serve, standInForward } from './support/mw-b-harness.js';

const TEXT = 'retry must not compress twice. '.repeat(200);
const cleanups: (() => Promise<void>)[] = [];
after(() => Promise.all(cleanups.map((c) => c())));

let backend: Backend;
let dead: string;
before(async () => {
  backend = await startBackend('text', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(TEXT) });
    res.end(TEXT);
  });
  cleanups.push(() => backend.close());
  dead = `http://127.0.0.1:${await closedPort()}`;
});

/** Builds named middlewares from configuration with the group-B registry, resolving chain members. */
function build(configs: Record<string, HttpMiddleware>): (name: string) => Middleware {
  const resolve = (name: string): Middleware => {
    const config = configs[name];
    if (!config) throw new Error(`no middleware ${name}`);
    const [kind, value] = Object.entries(config)[0] as [keyof HttpMiddleware, never];
    const factory = middlewareFactories[kind];
    if (!factory) throw new Error(`no factory for ${kind}`);
    return factory(value, { ...buildContext(name), resolve });
  };
  return resolve;
}

function flaky(failures: number): Handler {
  let calls = 0;
  return (ctx: RequestContext) => {
    calls++;
    return standInForward(calls <= failures ? dead : backend.url)(ctx);
  };
}

function get(
  port: number,
  headers: Record<string, string>,
): Promise<{ headers: IncomingHttpHeaders; body: Buffer; status: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('group-B middlewares in a chain', () => {
  it('retries past failed attempts and compresses the final answer exactly once', async () => {
    const resolve = build({
      all: { chain: { middlewares: ['again', 'gz', 'cap'] } },
      again: { retry: { attempts: 3, initialInterval: '1ms' } },
      gz: { compress: {} },
      cap: { buffering: { maxResponseBodyBytes: 1_000_000 } },
    });
    const h: Harness = await serve(resolve('all'), flaky(2));
    cleanups.push(() => h.close());
    const reply = await get(h.port, { 'accept-encoding': 'gzip' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(reply.body).toString(), TEXT);
    assert.equal(h.contexts[0]?.log.attempts, 3);
  });

  it('refuses with the first limit that applies: rate limit before in-flight cap', async () => {
    const resolve = build({
      all: { chain: { middlewares: ['rl', 'cap'] } },
      rl: { rateLimit: { average: 1, period: '1h', burst: 2 } },
      cap: { inFlightReq: { amount: 10 } },
    });
    const h = await serve(resolve('all'), flaky(0));
    cleanups.push(() => h.close());
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(h.port, {})).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.equal(h.contexts[2]?.log.error, 'rate_limited');
  });
});
