// Header rewriting between client and server, forwarded-header trust, and the request view, without sockets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CidrSet } from '@berth/config';
import type { ForwardedTrust } from '../src/http/entry-point-settings.js';
import type { ForwardContext } from '../src/http/forwarded-headers.js';
import {
  downstreamRawHeaders,
  downstreamResponseHeaders,
  forwardedClientIp,
  isTrusted,
  knownHeaderName,
  upstreamRequestHeaders,
} from '../src/http/forwarded-headers.js';
import { clientAddress, hostOf } from '../src/http/request-view.js';

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

function context(over: Partial<ForwardContext> = {}): ForwardContext {
  return {
    peerIp: '10.0.0.9',
    proto: 'http',
    host: 'Example.com:8080',
    upstreamHost: 'Example.com:8080',
    trusted: false,
    serverName: 'node-1',
    ...over,
  };
}

const HOSTILE = [
  'X-Forwarded-For',
  '203.0.113.1',
  'x-forwarded-for',
  '203.0.113.2',
  'X-Forwarded-Proto',
  'https',
  'X-Forwarded-Host',
  'evil.test',
  'X-Forwarded-Port',
  '1',
  'X-Forwarded-Server',
  'fake',
  'X-Real-Ip',
  '198.51.100.1',
  'X-Forwarded-Uri',
  '/admin',
];

describe('upstream request headers', () => {
  it('drop hop-by-hop and Connection-named headers and set X-Forwarded-* and X-Real-Ip', () => {
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
      'gzip',
      'Trailer',
      'X-T',
      'Transfer-Encoding',
      'chunked',
      'Upgrade',
      'h2c',
      'Expect',
      '100-continue',
      'Cookie',
      'a=1',
      'Cookie',
      'b=2',
    ];
    assert.deepEqual(pairs(upstreamRequestHeaders(raw, context())), [
      ['host', 'Example.com:8080'],
      ['x-forwarded-for', '10.0.0.9'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'Example.com:8080'],
      ['x-forwarded-port', '8080'],
      ['x-forwarded-server', 'node-1'],
      ['x-real-ip', '10.0.0.9'],
      ['Cookie', 'a=1'],
      ['Cookie', 'b=2'],
    ]);
  });

  it('keep `te: trailers` alone, as Go does (gRPC servers require it)', () => {
    const kept = (te: string) =>
      pairs(upstreamRequestHeaders(['Host', 'a.test', 'TE', te], context())).filter(([n]) => n === 'te');
    assert.deepEqual(kept('trailers'), [['te', 'trailers']]);
    assert.deepEqual(kept('gzip, Trailers;q=0.5'), [['te', 'trailers']]);
    assert.deepEqual(kept('gzip'), []);
    assert.deepEqual(kept('x-trailers'), []);
  });

  it('overwrite every forwarded header an untrusted client sent', () => {
    const out = pairs(upstreamRequestHeaders(['Host', 'a.test', ...HOSTILE], context({ host: 'a.test' })));
    assert.deepEqual(out, [
      ['host', 'Example.com:8080'],
      ['x-forwarded-for', '10.0.0.9'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'a.test'],
      ['x-forwarded-port', '80'],
      ['x-forwarded-server', 'node-1'],
      ['x-real-ip', '10.0.0.9'],
    ]);
  });

  it('keep a trusted proxy’s forwarded headers and append the peer to X-Forwarded-For', () => {
    const out = pairs(upstreamRequestHeaders(HOSTILE, context({ trusted: true, host: 'a.test' })));
    assert.deepEqual(out, [
      ['host', 'Example.com:8080'],
      ['x-forwarded-for', '203.0.113.1, 203.0.113.2, 10.0.0.9'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'evil.test'],
      ['x-forwarded-port', '1'],
      ['x-forwarded-server', 'node-1'],
      ['x-real-ip', '198.51.100.1'],
      ['X-Forwarded-Server', 'fake'],
      ['X-Forwarded-Uri', '/admin'],
    ]);
  });

  it('send no Host without passHostHeader, the scheme’s default port, and no empty server name', () => {
    const out = upstreamRequestHeaders(
      ['Host', 'a.test'],
      context({ peerIp: '::1', host: 'a.test', upstreamHost: undefined, serverName: '', proto: 'https' }),
    );
    assert.deepEqual(pairs(out), [
      ['x-forwarded-for', '::1'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'a.test'],
      ['x-forwarded-port', '443'],
      ['x-real-ip', '::1'],
    ]);
  });

  it('keep Connection and Upgrade for an upgrade request', () => {
    const out = pairs(
      upstreamRequestHeaders(
        ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'],
        context({ upgrade: 'websocket', host: undefined, upstreamHost: undefined }),
      ),
    );
    assert.deepEqual(out.slice(-3), [
      ['connection', 'upgrade'],
      ['upgrade', 'websocket'],
      ['Sec-WebSocket-Key', 'k'],
    ]);
  });

  it('apply upstreamHeaders overrides in place (new ones last), removing headers set to undefined', () => {
    const out = pairs(
      upstreamRequestHeaders(
        ['X-A', '1', 'X-B', '2', 'X-A', '3'],
        context({ overrides: { 'x-a': 'one', 'x-b': undefined, 'x-real-ip': '192.0.2.1', 'x-new': 'n' } }),
      ),
    );
    assert.deepEqual(out, [
      ['host', 'Example.com:8080'],
      ['x-forwarded-for', '10.0.0.9'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'Example.com:8080'],
      ['x-forwarded-port', '8080'],
      ['x-forwarded-server', 'node-1'],
      ['x-real-ip', '192.0.2.1'],
      ['x-a', 'one'],
      ['x-new', 'n'],
    ]);
  });

  it('put Host, then the forwarded headers, before the client’s, however many it sends', () => {
    const raw: string[] = [];
    for (let i = 0; i < 1000; i++) raw.push(`h${i}`, 'x');
    raw.push('X-Forwarded-For', '6.6.6.6', 'Host', 'a.test');
    const out = pairs(upstreamRequestHeaders(raw, context({ host: 'a.test', upstreamHost: 'a.test' })));
    assert.deepEqual(
      out.slice(0, 7).map(([name]) => name),
      [
        'host',
        'x-forwarded-for',
        'x-forwarded-proto',
        'x-forwarded-host',
        'x-forwarded-port',
        'x-forwarded-server',
        'x-real-ip',
      ],
    );
    assert.deepEqual(out[1], ['x-forwarded-for', '10.0.0.9']);
    assert.equal(out.length, 1007);
  });
});

describe('forwarded-header trust', () => {
  const trust: ForwardedTrust = { insecure: false, trustedIPs: CidrSet.parse(['10.0.0.0/8', '::1']).set };

  it('trusts only peers in trustedIPs, or everyone when insecure', () => {
    assert.equal(isTrusted('10.1.2.3', trust), true);
    assert.equal(isTrusted('::1', trust), true);
    assert.equal(isTrusted('192.0.2.1', trust), false);
    assert.equal(isTrusted('192.0.2.1', { insecure: true, trustedIPs: null }), true);
    assert.equal(isTrusted('10.1.2.3', { insecure: false, trustedIPs: null }), false);
  });

  it('takes the right-most X-Forwarded-For entry that is not a trusted proxy as the client', () => {
    assert.equal(forwardedClientIp('10.0.0.1', '198.51.100.7, 203.0.113.5, 10.0.0.2', trust), '203.0.113.5');
    assert.equal(forwardedClientIp('10.0.0.1', ['198.51.100.7', '10.9.9.9'], trust), '198.51.100.7');
    assert.equal(forwardedClientIp('10.0.0.1', '10.0.0.3, 10.0.0.2', trust), '10.0.0.3');
    assert.equal(forwardedClientIp('10.0.0.1', undefined, trust), '10.0.0.1');
  });

  it('falls back to the peer when the list holds something that is not an address', () => {
    assert.equal(forwardedClientIp('10.0.0.1', 'evil, 10.0.0.2', trust), '10.0.0.1');
    assert.equal(forwardedClientIp('10.0.0.1', '', trust), '10.0.0.1');
  });
});

describe('downstream response headers', () => {
  it('drop hop-by-hop headers and keep a Set-Cookie array', () => {
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

  it('from raw buffers: lower-case names, repeats as arrays, Connection-named headers dropped', () => {
    const raw = [
      'Connection',
      'Keep-Alive, X-Hop',
      'X-Hop',
      '1',
      'Keep-Alive',
      'timeout=5',
      'Transfer-Encoding',
      'chunked',
      'Set-Cookie',
      'a=1',
      'set-cookie',
      'b=2',
      'Set-Cookie',
      'c=3',
      'Content-Type',
      'text/plain',
      '__proto__',
      'x',
    ].map((s) => Buffer.from(s, 'latin1'));
    const out = downstreamRawHeaders(raw);
    assert.deepEqual(Object.entries(out), [
      ['set-cookie', ['a=1', 'b=2', 'c=3']],
      ['content-type', 'text/plain'],
      ['__proto__', 'x'],
    ]);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    // A name that only an object's prototype has is a header like any other.
    assert.deepEqual(Object.entries(downstreamRawHeaders([Buffer.from('Constructor'), Buffer.from('1')])), [
      ['constructor', '1'],
    ]);
    // The usual `Connection: keep-alive` names nothing.
    assert.deepEqual({ ...downstreamRawHeaders([Buffer.from('connection'), Buffer.from('keep-alive')]) }, {});
  });
});

describe('known header names', () => {
  it('are found in any case, and nothing else is', () => {
    assert.equal(knownHeaderName(Buffer.from('Content-Length')), 'content-length');
    assert.equal(knownHeaderName(Buffer.from('SET-COOKIE')), 'set-cookie');
    assert.equal(knownHeaderName(Buffer.from('date')), 'date');
    assert.equal(knownHeaderName(Buffer.from('Content-Lengtx')), undefined);
    assert.equal(knownHeaderName(Buffer.from('Content_Length')), undefined);
    assert.equal(knownHeaderName(Buffer.from('x-custom')), undefined);
    assert.equal(knownHeaderName(Buffer.from('d')), undefined);
  });
});

describe('request view helpers', () => {
  it('give the host without port and the client IP without ::ffff:', () => {
    assert.equal(hostOf('Example.COM:8080'), 'example.com');
    assert.equal(hostOf('a.test'), 'a.test');
    assert.equal(hostOf('[::1]:8080'), '::1');
    assert.equal(hostOf(undefined), '');
    assert.equal(clientAddress('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(clientAddress('::1'), '::1');
    assert.equal(clientAddress('10.1.2.3'), '10.1.2.3');
  });
});
