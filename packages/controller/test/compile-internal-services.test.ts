// Routers naming Traefik's internal services (`api@internal`, `ping@internal`...): accepted as is for
// the ones every node provides, refused with the list of them for any other `x@internal`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamicConfig, HttpRouter, StaticConfig } from '@berth/config';
import { compile } from '../src/compiler/compile.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

const statics: StaticConfig = { entryPoints: { web: { address: ':80' } } };

function part(routers: Record<string, HttpRouter>, provider = 'file'): ProviderPart {
  const config: DynamicConfig = { http: { routers, services: {} } };
  return { sourceKey: provider === 'file' ? '/a.yml' : 'docker/traefik', provider, config, errors: [] };
}

describe('compile: internal services', () => {
  for (const name of ['api', 'dashboard', 'noop', 'ping', 'prometheus']) {
    it(`keeps a router to ${name}@internal, the reference unchanged in the body`, () => {
      const result = compile(
        [part({ r: { rule: 'PathPrefix(`/x`)', service: `${name}@internal` } }, 'docker')],
        statics,
      );
      assert.deepEqual(result.errors, []);
      assert.equal(result.body.http.routers['r@docker']?.service, `${name}@internal`);
      assert.equal(result.routers[0]?.status, 'enabled');
      // Nodes provide it: it is no service of the body, nor of the status report.
      assert.deepEqual(Object.keys(result.body.http.services), []);
      assert.deepEqual(result.services, []);
    });
  }

  it('refuses another x@internal with the list of the internal services Berth has', () => {
    const result = compile(
      [
        part({
          r: { rule: 'PathPrefix(`/x`)', service: 'rest@internal' },
          ok: { rule: 'PathPrefix(`/y`)', service: 'ping@internal' },
        }),
      ],
      statics,
    );
    assert.equal(result.errors.length, 1);
    const [error] = result.errors;
    assert.equal(error?.code, ErrorCodes.CONFIG_SERVICE_MISSING);
    assert.equal(error?.path, 'http.routers.r@file.service');
    assert.match(error?.message ?? '', /"rest@internal" is no internal service of Berth/);
    assert.match(
      error?.message ?? '',
      /api@internal, dashboard@internal, noop@internal, ping@internal, prometheus@internal/,
    );
    assert.deepEqual(Object.keys(result.body.http.routers), ['ok@file']);
  });

  it('reads the provider qualifier case-insensitively, as every other reference', () => {
    const result = compile([part({ r: { rule: 'PathPrefix(`/x`)', service: 'api@Internal' } })], statics);
    assert.deepEqual(result.errors, []);
    assert.equal(result.body.http.routers['r@file']?.service, 'api@internal');
  });
});
