// Unit tests for the compiler's UDP section: entry points by protocol, references, one router per entry point.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StaticConfig, UdpConfig } from '@berth/config';
import { compile } from '../src/compiler/compile.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

const statics: StaticConfig = {
  entryPoints: {
    web: { address: ':80' },
    dns: { address: ':53/udp', udp: { timeout: '10s' } },
    syslog: { address: ':514/udp' },
  },
};

function part(udp: Partial<UdpConfig>, http: Record<string, unknown> = {}): ProviderPart {
  return {
    sourceKey: '/a.yml',
    config: { http: { routers: {}, services: {}, ...http }, udp: { routers: {}, services: {}, ...udp } },
    errors: [],
  };
}

const servers = { loadBalancer: { servers: [{ address: '10.0.0.2:53' }] } };

describe('compile: UDP', () => {
  it('puts UDP routers and services into the body, on every UDP entry point when none is named', () => {
    const result = compile(
      [
        part({
          routers: { all: { service: 'weighted' }, dns: { service: 'a', entryPoints: ['dns'] } },
          services: { a: servers, weighted: { weighted: { services: [{ name: 'a', weight: 2 }] } } },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.body.udp?.routers, {
      'all@file': { service: 'weighted@file', entryPoints: ['dns', 'syslog'] },
      'dns@file': { service: 'a@file', entryPoints: ['dns'] },
    });
    assert.deepEqual(result.body.udp?.services['weighted@file'], {
      weighted: { services: [{ name: 'a@file', weight: 2 }] },
    });
    assert.deepEqual(result.body.entryPoints.dns, statics.entryPoints.dns);
    // Both routers name `dns`: Traefik serves the greatest name there; the other one is told.
    const shadowed = result.errors.filter((e) => e.code === ErrorCodes.CONFIG_UDP_ROUTER_SHADOWED);
    assert.deepEqual(
      shadowed.map((e) => [e.path, e.severity]),
      [['udp.routers.all@file.entryPoints', 'warning']],
    );
    assert.deepEqual(
      result.udpRouters.map((r) => [r.name, r.status]),
      [
        ['all@file', 'enabled'],
        ['dns@file', 'enabled'],
      ],
    );
    assert.deepEqual(result.udpServices.find((s) => s.name === 'a@file')?.usedBy, ['all@file', 'dns@file']);
  });

  it('keeps HTTP routers off UDP entry points, and UDP routers off TCP ones', () => {
    const result = compile(
      [
        part(
          {
            routers: { tcpish: { service: 'a', entryPoints: ['web'] }, missing: { service: 'nope' } },
            services: { a: servers },
          },
          {
            routers: {
              site: { rule: 'Host(`a.example.com`)', service: 'site' },
              wrong: { rule: 'Host(`b.example.com`)', service: 'site', entryPoints: ['dns'] },
            },
            services: { site: { loadBalancer: { servers: [{ url: 'http://10.0.0.3' }] } } },
          },
        ),
      ],
      statics,
    );
    assert.deepEqual(result.body.http.routers['site@file']?.entryPoints, ['web']);
    assert.equal(result.body.http.routers['wrong@file'], undefined);
    assert.deepEqual(Object.keys(result.body.udp?.routers ?? {}), []);
    const found = result.errors.map((e) => [e.code, e.path]);
    assert.deepEqual(
      found.filter(([, p]) => p?.startsWith('udp.') || p?.startsWith('http.routers.wrong')),
      [
        [ErrorCodes.CONFIG_ENTRYPOINT_PROTOCOL, 'http.routers.wrong@file.entryPoints'],
        [ErrorCodes.CONFIG_SERVICE_MISSING, 'udp.routers.missing@file.service'],
        [ErrorCodes.CONFIG_ENTRYPOINT_PROTOCOL, 'udp.routers.tcpish@file.entryPoints'],
      ],
    );
  });
});
