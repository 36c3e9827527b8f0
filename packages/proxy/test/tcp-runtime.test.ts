// TCP runtime, pure parts: router order, services (smooth weighted round robin, weighted, health), middlewares, HTTP sniffing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EntryPoint, TcpConfig } from '@berth/config';

type EntryPointTimeouts = NonNullable<NonNullable<EntryPoint['transport']>['respondingTimeouts']>;

import { entryPointHasHttp, frontDoorSettings } from '../src/edge/entry-point-edge.js';
import { looksLikeHttp } from '../src/edge/http-sniff.js';
import { buildTcpMiddleware, chainTcpAdmits } from '../src/tcp/tcp-middlewares.js';
import { buildTcpRouterTables, decidesWithoutPeeking, matchRoute } from '../src/tcp/tcp-router-table.js';
import { healthKey, TcpServices } from '../src/tcp/tcp-services.js';

const view = (serverName: string, clientIp = '10.0.0.1', tls = true) => ({
  serverName,
  alpn: [],
  clientIp,
  tls,
});

describe('TCP router tables', () => {
  const tcp: TcpConfig = {
    routers: {
      b: { rule: 'HostSNI(`a.test`)', service: 's', tls: { passthrough: true } },
      a: { rule: 'HostSNI(`a.test`)', service: 's', tls: {} },
      long: { rule: 'HostSNIRegexp(`^.+\\.test$`)', service: 's', tls: {} },
      top: { rule: 'HostSNI(`*`)', service: 's', tls: {}, priority: 1000 },
      plain: { rule: 'HostSNI(`*`)', service: 's', entryPoints: ['tcp'] },
      bad: { rule: 'HostSNI(`a.test`', service: 's' },
      ghost: { rule: 'HostSNI(`*`)', service: 's', entryPoints: ['nope'] },
    },
    services: {},
  };

  it('orders by explicit priority, then rule length, then name; binds routers without entryPoints everywhere', () => {
    const { tables, problems } = buildTcpRouterTables(tcp, ['web', 'tcp']);
    assert.deepEqual(
      tables.get('web')?.tlsRoutes.map((r) => r.name),
      ['top', 'long', 'a', 'b'],
    );
    assert.deepEqual(
      tables.get('web')?.plainRoutes.map((r) => r.name),
      [],
    );
    assert.deepEqual(
      tables.get('tcp')?.plainRoutes.map((r) => r.name),
      ['plain'],
    );
    assert.deepEqual(problems.map((p) => p.router).sort(), ['bad', 'ghost']);
  });

  it('matches by SNI and client address', () => {
    const { tables } = buildTcpRouterTables(
      {
        routers: {
          office: { rule: 'HostSNI(`db.test`) && ClientIP(`10.0.0.0/8`)', service: 's', tls: {} },
          any: { rule: 'HostSNI(`db.test`)', service: 's', tls: {} },
        },
        services: {},
      },
      ['ep'],
    );
    const t = tables.get('ep')!;
    assert.equal(matchRoute(t.tlsRoutes, view('db.test'))?.name, 'office');
    assert.equal(matchRoute(t.tlsRoutes, view('db.test', '192.0.2.1'))?.name, 'any');
    assert.equal(matchRoute(t.tlsRoutes, view('other.test')), undefined);
  });

  it('reads a router the snapshot marks ruleSyntax v2 in v2 (several HostSNIRegexp templates)', () => {
    const { tables, problems } = buildTcpRouterTables(
      {
        routers: {
          nas: {
            rule: 'HostSNIRegexp(`nas.test`, `{sub:[a-z]+}.nas.test`)',
            service: 's',
            tls: { passthrough: true },
            ruleSyntax: 'v2',
          },
        },
        services: {},
      },
      ['ep'],
    );
    assert.deepEqual(problems, []);
    const t = tables.get('ep')!;
    assert.equal(matchRoute(t.tlsRoutes, view('photos.nas.test'))?.name, 'nas');
    assert.equal(matchRoute(t.tlsRoutes, view('nas.test'))?.name, 'nas');
    assert.equal(matchRoute(t.tlsRoutes, view('a.b.nas.test')), undefined);
  });

  it('decides without peeking only for plain-only entry points without HTTP', () => {
    const { tables } = buildTcpRouterTables(
      {
        routers: {
          ssh: { rule: 'HostSNI(`*`)', service: 's', entryPoints: ['ssh'] },
          db: {
            rule: 'HostSNI(`db.test`)',
            service: 's',
            tls: { passthrough: true },
            entryPoints: ['mixed'],
          },
          raw: { rule: 'HostSNI(`*`)', service: 's', entryPoints: ['mixed'] },
        },
        services: {},
      },
      ['ssh', 'mixed', 'web'],
    );
    assert.equal(decidesWithoutPeeking(tables.get('ssh'), false), true);
    assert.equal(decidesWithoutPeeking(tables.get('ssh'), true), false);
    assert.equal(decidesWithoutPeeking(tables.get('mixed'), false), false);
    assert.equal(decidesWithoutPeeking(tables.get('web'), false), false);
  });
});

describe('TCP services', () => {
  const tcp: TcpConfig = {
    routers: {},
    services: {
      lb: {
        loadBalancer: {
          servers: [
            { address: '10.0.0.1:1', weight: 3 },
            { address: '10.0.0.2:1' },
            { address: '10.0.0.3:1', weight: 0 },
          ],
          healthCheck: { interval: '5s', timeout: '1s', send: 'PING\r\n', expect: '+PONG' },
        },
      },
      other: {
        loadBalancer: { servers: [{ address: '10.0.1.1:1' }], serversTransport: 'tls', terminationDelay: -1 },
      },
      split: {
        weighted: {
          services: [
            { name: 'lb', weight: 1 },
            { name: 'other', weight: 1 },
          ],
        },
      },
      loop: { weighted: { services: [{ name: 'loop' }] } },
    },
    serversTransports: {
      tls: { dialTimeout: '2s', idleTimeout: '0s', proxyProtocol: {} },
    },
  };

  it('spreads by weight without bursts and never picks a zero weight', () => {
    const svc = new TcpServices(tcp, () => true);
    const picks = Array.from({ length: 8 }, () => svc.pick('lb')?.address);
    assert.deepEqual(picks, [
      '10.0.0.1:1',
      '10.0.0.1:1',
      '10.0.0.2:1',
      '10.0.0.1:1',
      '10.0.0.1:1',
      '10.0.0.1:1',
      '10.0.0.2:1',
      '10.0.0.1:1',
    ]);
  });

  it('skips unhealthy servers and gives nothing when all are down', () => {
    const down = new Set([healthKey('lb', '10.0.0.1:1')]);
    const svc = new TcpServices(tcp, (k) => !down.has(k));
    assert.deepEqual(
      Array.from({ length: 3 }, () => svc.pick('lb')?.address),
      ['10.0.0.2:1', '10.0.0.2:1', '10.0.0.2:1'],
    );
    down.add(healthKey('lb', '10.0.0.2:1'));
    assert.equal(svc.pick('lb'), undefined);
    // A weighted service routes around a child with nothing up.
    assert.deepEqual(
      Array.from({ length: 2 }, () => svc.pick('split')?.address),
      ['10.0.1.1:1', '10.0.1.1:1'],
    );
  });

  it('resolves transports and health checks, and reports cycles', () => {
    const svc = new TcpServices(tcp, () => true);
    const other = svc.pick('other')!;
    assert.equal(other.transport.dialTimeoutMs, 2000);
    assert.equal(other.transport.terminationDelayMs, -1);
    assert.equal(other.transport.idleTimeoutMs, 0);
    assert.equal(other.transport.proxyProtocol, 2);
    const lb = svc.pick('lb')!;
    assert.equal(lb.transport.dialTimeoutMs, 30_000);
    assert.equal(lb.transport.idleTimeoutMs, 3_600_000);
    assert.equal(lb.transport.terminationDelayMs, 100);
    assert.equal(lb.transport.proxyProtocol, undefined);
    assert.equal(svc.healthChecks.length, 3);
    assert.deepEqual(
      { ...svc.healthChecks[0], key: undefined },
      {
        key: undefined,
        host: '10.0.0.1',
        port: 1,
        send: 'PING\r\n',
        expect: '+PONG',
        intervalMs: 5000,
        unhealthyIntervalMs: 5000,
        timeoutMs: 1000,
      },
    );
    assert.ok(svc.problems.some((p) => p.service === 'loop' && /cycle/.test(p.message)));
  });
});

describe('TCP middlewares', () => {
  it('ipAllowList admits listed sources only', () => {
    const admit = buildTcpMiddleware('allow', { ipAllowList: { sourceRange: ['10.0.0.0/8', '::1'] } });
    assert.equal(admit('10.1.2.3').ok, true);
    assert.equal(admit('::ffff:10.1.2.3').ok, true);
    assert.equal(admit('::1').ok, true);
    assert.equal(admit('192.0.2.1').ok, false);
  });

  it('inFlightConn counts per client IP and frees on release; a chain releases on refusal', () => {
    const limit = buildTcpMiddleware('two', { inFlightConn: { amount: 2 } });
    const a1 = limit('1.1.1.1');
    const a2 = limit('1.1.1.1');
    assert.ok(a1.ok && a2.ok);
    assert.equal(limit('1.1.1.1').ok, false);
    assert.equal(limit('2.2.2.2').ok, true);
    a1.release();
    a1.release(); // twice is once
    assert.equal(limit('1.1.1.1').ok, true);
    assert.equal(limit('1.1.1.1').ok, false);

    const one = buildTcpMiddleware('one', { inFlightConn: { amount: 1 } });
    const deny = buildTcpMiddleware('deny', { ipAllowList: { sourceRange: ['10.0.0.0/8'] } });
    const chain = chainTcpAdmits([one, deny]);
    assert.equal(chain('3.3.3.3').ok, false);
    // The refusal gave back what `one` took.
    assert.equal(one('3.3.3.3').ok, true);
  });
});

describe('HTTP sniffing', () => {
  it('tells request lines from other protocols, waiting on prefixes', () => {
    assert.equal(looksLikeHttp(Buffer.from('GET / HTTP/1.1')), 'yes');
    assert.equal(looksLikeHttp(Buffer.from('PRI * HTTP/2.0')), 'yes');
    assert.equal(looksLikeHttp(Buffer.from('CONNECT example.com:443')), 'yes');
    assert.equal(looksLikeHttp(Buffer.from('GE')), 'more');
    assert.equal(looksLikeHttp(Buffer.from('GET')), 'more');
    assert.equal(looksLikeHttp(Buffer.from('GET ')), 'more');
    assert.equal(looksLikeHttp(Buffer.from('GETTING ')), 'no');
    assert.equal(looksLikeHttp(Buffer.from('EHLO mail')), 'no');
    assert.equal(looksLikeHttp(Buffer.from('SSH-2.0-x')), 'no');
    assert.equal(looksLikeHttp(Buffer.from('\x00\x01')), 'no');
  });
});

describe('front door settings from a snapshot', () => {
  it('finds HTTP on entry points with routers, unbound routers or a redirection', () => {
    const body = {
      entryPoints: {
        web: { address: ':80', http: { redirections: { entryPoint: { to: 'websecure' } } } },
        websecure: { address: ':443' },
        ssh: { address: ':22' },
      },
      http: {
        routers: { app: { rule: 'Host(`a`)', service: 's', entryPoints: ['websecure'] } },
        services: {},
      },
    };
    assert.equal(entryPointHasHttp(body, 'web'), true);
    assert.equal(entryPointHasHttp(body, 'websecure'), true);
    assert.equal(entryPointHasHttp(body, 'ssh'), false);
    body.http.routers = {
      ...body.http.routers,
      all: { rule: 'Host(`b`)', service: 's' },
    } as typeof body.http.routers;
    assert.equal(entryPointHasHttp(body, 'ssh'), true);
  });

  it('reads proxyProtocol trust and clientHelloTimeout', () => {
    // clientHelloTimeout is not in the model yet: read when present.
    const ep = {
      address: ':443',
      proxyProtocol: { trustedIPs: ['10.0.0.0/8'] },
      transport: { respondingTimeouts: { clientHelloTimeout: '3s' } as EntryPointTimeouts },
    };
    const s = frontDoorSettings(
      'websecure',
      ep,
      { entryPoints: { websecure: ep }, http: { routers: {}, services: {} } },
      undefined,
    );
    assert.deepEqual(s, {
      entryPoint: 'websecure',
      hasHttp: false,
      tcp: undefined,
      clientHelloTimeoutMs: 3000,
      proxyProtocol: { trustedIPs: ['10.0.0.0/8'] },
    });
  });
});
