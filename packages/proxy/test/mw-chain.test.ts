// chain: named middlewares resolved and applied in order; the registry of this group.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Middleware, RequestContext } from '../src/http/context.js';
import { MiddlewareConfigError } from '../src/http/context.js';
import { chain } from '../src/http/middlewares/chain.js';
import { middlewareFactories } from '../src/http/middlewares/index.js';
import { buildContext } from './support/mw-b-harness.js';

function recorder(name: string, trail: string[]): Middleware {
  return (next) => async (ctx) => {
    trail.push(`${name}:in`);
    await next(ctx);
    trail.push(`${name}:out`);
  };
}

describe('chain middleware', () => {
  it('applies its middlewares in the order listed, the first one outermost', async () => {
    const trail: string[] = [];
    const others = { a: recorder('a', trail), b: recorder('b', trail), c: recorder('c', trail) };
    const m = chain({ middlewares: ['a', 'b', 'c'] }, buildContext('chain', others));
    await m(async () => {
      trail.push('handler');
    })({} as RequestContext);
    assert.deepEqual(trail, ['a:in', 'b:in', 'c:in', 'handler', 'c:out', 'b:out', 'a:out']);
  });

  it('is a no-op when empty', async () => {
    let reached = false;
    await chain(
      { middlewares: [] },
      buildContext(),
    )(async () => {
      reached = true;
    })({} as RequestContext);
    assert.equal(reached, true);
  });

  it('fails to build when a member cannot be resolved', () => {
    const build = {
      ...buildContext(),
      resolve(name: string): Middleware {
        throw new MiddlewareConfigError(`unknown middleware ${name}`);
      },
    };
    assert.throws(() => chain({ middlewares: ['missing'] }, build), MiddlewareConfigError);
  });
});

describe('middleware registry', () => {
  it('offers every middleware kind of the issue', () => {
    assert.deepEqual(Object.keys(middlewareFactories).sort(), [
      'addPrefix',
      'basicAuth',
      'buffering',
      'chain',
      'circuitBreaker',
      'compress',
      'contentType',
      'digestAuth',
      'errors',
      'forwardAuth',
      'grpcWeb',
      'headers',
      'inFlightReq',
      'ipAllowList',
      'passTLSClientCert',
      'rateLimit',
      'redirectRegex',
      'redirectScheme',
      'replacePath',
      'replacePathRegex',
      'retry',
      'stripPrefix',
      'stripPrefixRegex',
    ]);
  });
});
