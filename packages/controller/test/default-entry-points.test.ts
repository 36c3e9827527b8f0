// Where a router without entryPoints listens: Traefik v3's asDefault, else every entry point but `traefik`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StaticConfig } from '@berth/config';
import { compile } from '../src/compiler/compile.js';
import { defaultEntryPoints } from '../src/compiler/default-entry-points.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

function part(routers: ProviderPart['config']['http']['routers']): ProviderPart {
  const services = { api: { loadBalancer: { servers: [{ url: 'http://10.0.0.1:80' }] } } };
  return { sourceKey: '/a.yml', config: { http: { routers, services } }, errors: [] };
}

describe('default entry points', () => {
  it('are every entry point but traefik when none is flagged asDefault', () => {
    const statics: StaticConfig = {
      entryPoints: { web: { address: ':80' }, traefik: { address: ':8080' }, websecure: { address: ':443' } },
    };
    assert.deepEqual(defaultEntryPoints(statics), ['web', 'websecure']);
  });

  it('are only those flagged asDefault when any is, traefik included if flagged', () => {
    const statics: StaticConfig = {
      entryPoints: {
        web: { address: ':80' },
        websecure: { address: ':443', asDefault: true },
        traefik: { address: ':8080', asDefault: true },
      },
    };
    assert.deepEqual(defaultEntryPoints(statics), ['traefik', 'websecure']);
  });

  it('never include a UDP entry point', () => {
    const statics: StaticConfig = { entryPoints: { web: { address: ':80' }, dns: { address: ':53/udp' } } };
    assert.deepEqual(defaultEntryPoints(statics), ['web']);
  });

  it('bind routers without entryPoints in the compiled body; listed ones stay as written', () => {
    const statics: StaticConfig = {
      entryPoints: {
        web: { address: ':80' },
        websecure: { address: ':443', asDefault: true },
        traefik: { address: ':8080' },
      },
    };
    const result = compile(
      [
        part({
          plain: { rule: 'Host(`a.test`)', service: 'api' },
          listed: { rule: 'Host(`b.test`)', service: 'api', entryPoints: ['web'] },
        }),
      ],
      statics,
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.body.http.routers['plain@file']?.entryPoints, ['websecure']);
    assert.deepEqual(result.body.http.routers['listed@file']?.entryPoints, ['web']);
    // asDefault is the compiler's: the nodes' entry points do not carry it.
    assert.deepEqual(result.body.entryPoints.websecure, { address: ':443' });
  });
});
