// The errors middleware names a service: the compiler qualifies and follows it like a router's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamicConfig, HttpMiddleware, HttpService, StaticConfig } from '@berth/config';
import { compile } from '../src/compiler/compile.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

const statics: StaticConfig = { entryPoints: { web: { address: ':80' } } };
const lb: HttpService = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } };

function part(
  middlewares: Record<string, HttpMiddleware>,
  services: Record<string, HttpService>,
): ProviderPart {
  const config: DynamicConfig = {
    http: {
      routers: { r: { rule: 'Host(`a`)', service: 'app', middlewares: ['oops'] } },
      services,
      middlewares,
    },
  };
  return { sourceKey: '/a.yml', config, errors: [] };
}

describe('compile: errors middleware service', () => {
  it('qualifies the error service by provider and keeps the router', () => {
    const docker: ProviderPart = {
      sourceKey: 'docker/pages',
      provider: 'docker',
      config: { http: { routers: {}, services: { pages: lb } } },
      errors: [],
    };
    const result = compile(
      [
        part(
          {
            oops: { errors: { status: ['500-599'], service: 'pages@docker', query: '/{status}' } },
            local: { errors: { status: ['404'], service: 'app' } },
          },
          { app: lb },
        ),
        docker,
      ],
      statics,
    );
    assert.deepEqual(result.errors, []);
    assert.equal(result.body.http.middlewares?.['oops@file']?.errors?.service, 'pages@docker');
    assert.equal(result.body.http.middlewares?.['local@file']?.errors?.service, 'app@file');
    assert.ok(result.body.http.routers['r@file']);
    assert.deepEqual(result.services.find((x) => x.name === 'pages@docker')?.usedBy, ['r@file']);
  });

  it('drops the middleware when the error service is missing; the routers using it fail closed', () => {
    const result = compile(
      [part({ oops: { errors: { status: ['500-599'], service: 'nowhere' } } }, { app: lb })],
      statics,
    );
    assert.deepEqual(
      result.errors.map((e) => [e.code, e.path]),
      [
        [ErrorCodes.CONFIG_SERVICE_MISSING, 'http.middlewares.oops@file'],
        [ErrorCodes.CONFIG_MIDDLEWARE_MISSING, 'http.routers.r@file.middlewares'],
      ],
    );
    assert.match(result.errors[0]!.message, /errors service "nowhere@file" is not defined/);
    assert.equal(result.body.http.middlewares?.['oops@file'], undefined);
    // Kept, answering 503: its traffic must not fall through to another router.
    assert.equal(result.body.http.routers['r@file']?.failClosed?.code, ErrorCodes.CONFIG_SERVICE_MISSING);
    assert.equal(result.body.http.routers['r@file']?.middlewares, undefined);
  });
});
