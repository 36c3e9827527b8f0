// Labels for errors, circuitBreaker and contentType read as Traefik's label decoding reads them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerFacts, DockerProviderSettings } from '../src/provider/docker/container-facts.js';
import { decodeContainers } from '../src/provider/docker/labels/index.js';

const settings: DockerProviderSettings = {
  endpoint: 'unix:///var/run/docker.sock',
  exposedByDefault: false,
  constraints: '',
  defaultRule: 'Host(`{{ normalize .Name }}.example.com`)',
  network: '',
  useBindPortIP: false,
  allowEmptyServices: false,
  prefixes: ['traefik'],
};

function container(labels: Record<string, string>): ContainerFacts {
  return {
    id: 'api-0123456789abcdef',
    name: 'api',
    labels: { 'traefik.enable': 'true', 'traefik.http.routers.api.rule': 'Host(`a`)', ...labels },
    state: 'running',
    health: null,
    networkMode: 'bridge',
    networks: [{ name: 'app_default', ipv4: '172.18.0.2', ipv6: '' }],
    exposedPorts: [{ port: 80, protocol: 'tcp' }],
    publishedPorts: [],
    compose: { project: 'app', service: 'api' },
  };
}

describe('Docker labels: errors, circuitBreaker, contentType', () => {
  it('maps them onto the model, lists and maps included', () => {
    const [part] = decodeContainers(
      [
        container({
          'traefik.http.middlewares.oops.errors.status': '500-599,404',
          'traefik.http.middlewares.oops.errors.service': 'pages',
          'traefik.http.middlewares.oops.errors.query': '/{status}.html',
          'traefik.http.middlewares.oops.errors.statusrewrites.418': '404',
          'traefik.http.middlewares.cb.circuitbreaker.expression': 'LatencyAtQuantileMS(50.0) > 100',
          'traefik.http.middlewares.cb.circuitbreaker.checkperiod': '42s',
          'traefik.http.middlewares.cb.circuitbreaker.responsecode': '502',
          'traefik.http.middlewares.ct.contenttype': 'true',
          'traefik.http.middlewares.off.contenttype.autodetect': 'false',
        }),
      ],
      settings,
    );
    assert.ok(part);
    assert.deepEqual(part.errors, []);
    assert.deepEqual(part.config.http.middlewares, {
      oops: {
        errors: {
          status: ['500-599', '404'],
          statusRewrites: { '418': 404 },
          service: 'pages',
          query: '/{status}.html',
        },
      },
      cb: {
        circuitBreaker: {
          expression: 'LatencyAtQuantileMS(50.0) > 100',
          checkPeriod: '42s',
          responseCode: 502,
        },
      },
      ct: { contentType: {} },
      off: { contentType: { autoDetect: false } },
    });
  });

  it('reports an expression that does not parse on its label', () => {
    const [part] = decodeContainers(
      [container({ 'traefik.http.middlewares.cb.circuitbreaker.expression': 'foobar' })],
      settings,
    );
    assert.ok(part);
    assert.equal(part.errors[0]?.code, 'BERTH_CONFIG_CIRCUIT_BREAKER_EXPRESSION');
    assert.equal(part.errors[0]?.source?.label, 'traefik.http.middlewares.cb.circuitbreaker.expression');
    assert.equal(part.config.http.middlewares?.['cb'], undefined);
  });
});
