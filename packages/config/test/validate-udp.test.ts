// Specifies UDP configuration: `/udp` entry points with their session timeout, and the udp section.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUdpAddress, parseEntryPointAddress, validateDynamic, validateStatic } from '../src/index.js';

const codesAndPaths = (errors: readonly { code: string; path: string }[]) =>
  errors.map((e) => [e.code, e.path]);

describe('UDP entry points', () => {
  it('reads the protocol after the address as Traefik does: /udp, /tcp, any case, TCP when absent', () => {
    assert.deepEqual(parseEntryPointAddress(':53/udp'), { host: '', port: 53, protocol: 'udp' });
    assert.deepEqual(parseEntryPointAddress('[::1]:53/UDP'), { host: '::1', port: 53, protocol: 'udp' });
    assert.deepEqual(parseEntryPointAddress('127.0.0.1:80/tcp'), {
      host: '127.0.0.1',
      port: 80,
      protocol: 'tcp',
    });
    assert.deepEqual(parseEntryPointAddress(':80'), { host: '', port: 80, protocol: 'tcp' });
    assert.equal(parseEntryPointAddress(':80/sctp'), null);
    assert.equal(parseEntryPointAddress('nope/udp'), null);
    assert.equal(isUdpAddress(':53/udp'), true);
    assert.equal(isUdpAddress(':53'), false);
  });

  it('accepts udp.timeout and refuses a protocol other than tcp or udp, and a zero timeout', () => {
    const { config, errors } = validateStatic({
      entryPoints: {
        dns: { address: ':53/udp', udp: { timeout: '10s' } },
        web: { address: ':80/tcp' },
        bad: { address: ':5000/sctp' },
        zero: { address: ':54/udp', udp: { timeout: 0 } },
      },
    });
    assert.deepEqual(Object.keys(config.entryPoints).sort(), ['dns', 'web']);
    assert.deepEqual(config.entryPoints.dns, { address: ':53/udp', udp: { timeout: '10s' } });
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_INVALID_ADDRESS', 'entryPoints.bad.address'],
      ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.zero.udp.timeout'],
    ]);
  });
});

describe('the udp section', () => {
  it('reads routers (entry points and a service, no rule) and loadBalancer or weighted services', () => {
    const { config, errors } = validateDynamic({
      udp: {
        routers: { dns: { entryPoints: ['dns'], service: 'resolvers' }, all: { service: 'resolvers' } },
        services: {
          resolvers: { weighted: { services: [{ name: 'a', weight: 3 }, { name: 'b' }] } },
          a: { loadBalancer: { servers: [{ address: '10.0.0.2:53' }, { address: '[2001:db8::2]:53' }] } },
          b: { loadBalancer: { servers: [{ address: 'dns.internal:53' }] } },
        },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.udp?.routers, {
      dns: { service: 'resolvers', entryPoints: ['dns'] },
      all: { service: 'resolvers' },
    });
    assert.deepEqual(config.udp?.services.a, {
      loadBalancer: { servers: [{ address: '10.0.0.2:53' }, { address: '[2001:db8::2]:53' }] },
    });
    assert.deepEqual(config.udp?.services.resolvers, {
      weighted: { services: [{ name: 'a', weight: 3 }, { name: 'b' }] },
    });
  });

  it('drops a router without service, one with a rule, and a server that is no host:port, alone', () => {
    const { config, errors } = validateDynamic({
      udp: {
        routers: {
          nosvc: { entryPoints: ['dns'] },
          ruled: { rule: 'HostSNI(`*`)', service: 'a' },
          ok: { service: 'a' },
        },
        services: {
          a: { loadBalancer: { servers: [{ address: '10.0.0.2:53' }] } },
          broken: { loadBalancer: { servers: [{ address: 'foobar' }] } },
          both: { loadBalancer: { servers: [] }, weighted: { services: [{ name: 'a' }] } },
        },
      },
    });
    assert.deepEqual(Object.keys(config.udp?.routers ?? {}), ['ok']);
    assert.deepEqual(Object.keys(config.udp?.services ?? {}), ['a']);
    const paths = errors.map((e) => e.path);
    for (const p of [
      'udp.routers.nosvc.service',
      'udp.routers.ruled.rule',
      'udp.services.broken',
      'udp.services.both',
    ])
      assert.ok(
        paths.some((x) => x.startsWith(p)),
        `${p} in ${JSON.stringify(paths)}`,
      );
  });
});
