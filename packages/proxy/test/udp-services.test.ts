// UDP routing tables without sockets: the router each entry point serves, and the pickers' shares.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UdpConfig } from '@berth/config';
import { buildUdpPickers, udpRoutes } from '../src/udp/udp-services.js';

const udp: UdpConfig = {
  routers: {
    'a@file': { service: 'one@file', entryPoints: ['dns'] },
    'b@file': { service: 'two@file', entryPoints: ['dns', 'syslog'] },
    'c@file': { service: 'missing@file', entryPoints: ['other'] },
  },
  services: {
    'one@file': { loadBalancer: { servers: [{ address: '10.0.0.1:53' }] } },
    'two@file': {
      weighted: {
        services: [
          { name: 'one@file', weight: 1 },
          { name: 'three@file', weight: 2 },
        ],
      },
    },
    'three@file': { loadBalancer: { servers: [{ address: '10.0.0.3:53' }, { address: '10.0.0.4:53' }] } },
  },
};

describe('UDP routing tables', () => {
  it('serves the greatest router name on an entry point, as Traefik does, and nothing where its service is missing', () => {
    const routes = udpRoutes(udp, ['dns', 'syslog', 'other'], buildUdpPickers(udp));
    assert.equal(routes.get('dns')?.router, 'b@file');
    assert.equal(routes.get('syslog')?.router, 'b@file');
    assert.equal(routes.has('other'), false);
  });

  it('spreads picks by weight through nested weighted services', () => {
    const picker = buildUdpPickers(udp).get('two@file');
    assert.ok(picker);
    const picks = Array.from({ length: 12 }, () => picker.next()?.address);
    const count = (a: string) => picks.filter((p) => p === a).length;
    assert.deepEqual([count('10.0.0.1:53'), count('10.0.0.3:53'), count('10.0.0.4:53')], [4, 4, 4]);
    assert.deepEqual([...picker.addresses].sort(), ['10.0.0.1:53', '10.0.0.3:53', '10.0.0.4:53']);
  });
});
