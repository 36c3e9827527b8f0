// sourceCriterion → key: Traefik's ipStrategy (depth, excludedIPs), request header, host, client address.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { CidrSet } from '@berth/config';
import type { RequestContext } from '../src/http/context.js';
import { firstNotExcluded, ipAtDepth, sourceKey } from '../src/http/middlewares/source-key.js';

function ctx(
  headers: Record<string, string | string[]>,
  clientIp = '192.0.2.9',
  host = 'app.example',
): RequestContext {
  return {
    req: { headers } as unknown as IncomingMessage,
    res: {} as ServerResponse,
    view: { host, path: '/', method: 'GET', headers, query: '', clientIp },
    target: '/',
    clientIp,
    scheme: 'http',
    startedAt: 0n,
    log: { entryPoint: 'web' },
    respond: async () => {},
    upstreamHeaders: {},
    signal: new AbortController().signal,
  };
}

describe('source key', () => {
  it('is the client address when no criterion is set, or ipStrategy is empty', () => {
    assert.equal(sourceKey(undefined, 'm')(ctx({ 'x-forwarded-for': '1.1.1.1' })), '192.0.2.9');
    assert.equal(sourceKey({ ipStrategy: {} }, 'm')(ctx({ 'x-forwarded-for': '1.1.1.1' })), '192.0.2.9');
  });

  it('takes the X-Forwarded-For entry `depth` places from the right', () => {
    const key = sourceKey({ ipStrategy: { depth: 2 } }, 'm');
    assert.equal(key(ctx({ 'x-forwarded-for': '1.1.1.1, 2.2.2.2, 3.3.3.3' })), '2.2.2.2');
    assert.equal(key(ctx({ 'x-forwarded-for': ['1.1.1.1', '2.2.2.2'] })), '1.1.1.1');
  });

  it('falls back to the client address when X-Forwarded-For is too short', () => {
    const key = sourceKey({ ipStrategy: { depth: 3 } }, 'm');
    assert.equal(key(ctx({ 'x-forwarded-for': '1.1.1.1' })), '192.0.2.9');
    assert.equal(key(ctx({})), '192.0.2.9');
  });

  it('takes the right-most entry outside excludedIPs', () => {
    const key = sourceKey({ ipStrategy: { excludedIPs: ['10.0.0.0/8', '3.3.3.3'] } }, 'm');
    assert.equal(key(ctx({ 'x-forwarded-for': '1.1.1.1, 2.2.2.2, 10.1.2.3, 3.3.3.3' })), '2.2.2.2');
    assert.equal(key(ctx({ 'x-forwarded-for': '10.0.0.1' })), '192.0.2.9');
  });

  it('prefers depth to excludedIPs, as Traefik does', () => {
    const key = sourceKey({ ipStrategy: { depth: 1, excludedIPs: ['3.3.3.3'] } }, 'm');
    assert.equal(key(ctx({ 'x-forwarded-for': '1.1.1.1, 3.3.3.3' })), '3.3.3.3');
  });

  it('uses a request header, or the host, when asked', () => {
    assert.equal(sourceKey({ requestHeaderName: 'X-Tenant' }, 'm')(ctx({ 'x-tenant': 'acme' })), 'acme');
    assert.equal(sourceKey({ requestHeaderName: 'X-Tenant' }, 'm')(ctx({})), '');
    assert.equal(sourceKey({ requestHost: true }, 'm')(ctx({}, '1.2.3.4', 'shop.example')), 'shop.example');
  });

  it('has pure helpers for depth and exclusion', () => {
    assert.equal(ipAtDepth(['a', 'b', 'c'], 1), 'c');
    assert.equal(ipAtDepth(['a'], 2), undefined);
    assert.equal(firstNotExcluded(['1.1.1.1', '2.2.2.2'], CidrSet.parse(['2.2.2.2']).set), '1.1.1.1');
  });
});
