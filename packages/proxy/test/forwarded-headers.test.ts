// Header rewriting between client and server, and the request view, without sockets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../src/http/forwarded-headers.js';
import { clientAddress, hostOf } from '../src/http/request-view.js';

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

test('request: hop-by-hop and Connection-named headers go, X-Forwarded-* are set', () => {
  const raw = [
    'Host',
    'Example.com:8080',
    'Connection',
    'keep-alive, X-Secret',
    'X-Secret',
    'hop',
    'Keep-Alive',
    'timeout=5',
    'Proxy-Connection',
    'keep-alive',
    'TE',
    'trailers',
    'Trailer',
    'X-T',
    'Transfer-Encoding',
    'chunked',
    'Upgrade',
    'h2c',
    'Expect',
    '100-continue',
    'X-Forwarded-For',
    '203.0.113.1',
    'x-forwarded-for',
    '203.0.113.2',
    'X-Forwarded-Proto',
    'https',
    'Cookie',
    'a=1',
    'Cookie',
    'b=2',
  ];
  const out = pairs(
    upstreamRequestHeaders(raw, {
      clientIp: '10.0.0.9',
      proto: 'http',
      host: 'Example.com:8080',
      upstreamHost: 'Example.com:8080',
    }),
  );
  assert.deepEqual(out, [
    ['Cookie', 'a=1'],
    ['Cookie', 'b=2'],
    ['host', 'Example.com:8080'],
    ['x-forwarded-for', '203.0.113.1, 203.0.113.2, 10.0.0.9'],
    ['x-forwarded-proto', 'http'],
    ['x-forwarded-host', 'Example.com:8080'],
  ]);
});

test('request: without passHostHeader no Host is sent (undici uses the server origin)', () => {
  const out = upstreamRequestHeaders(['Host', 'a.test'], {
    clientIp: '::1',
    proto: 'http',
    host: 'a.test',
    upstreamHost: undefined,
  });
  assert.deepEqual(pairs(out), [
    ['x-forwarded-for', '::1'],
    ['x-forwarded-proto', 'http'],
    ['x-forwarded-host', 'a.test'],
  ]);
});

test('response: hop-by-hop removed, Set-Cookie array kept', () => {
  const out = downstreamResponseHeaders({
    connection: 'keep-alive, x-hop',
    'x-hop': '1',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'set-cookie': ['a=1', 'b=2'],
    'content-type': 'text/plain',
  });
  assert.deepEqual(out, { 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' });
});

test('request view helpers: host without port, client IP without ::ffff:', () => {
  assert.equal(hostOf('Example.COM:8080'), 'example.com');
  assert.equal(hostOf('a.test'), 'a.test');
  assert.equal(hostOf('[::1]:8080'), '::1');
  assert.equal(hostOf(undefined), '');
  assert.equal(clientAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(clientAddress('::1'), '::1');
  assert.equal(clientAddress('10.1.2.3'), '10.1.2.3');
});
