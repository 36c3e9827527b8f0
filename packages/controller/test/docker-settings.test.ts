// `providers.docker` of the static file: Traefik's keys and defaults, DOCKER_HOST, and errors that name the setting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDockerSettings } from '../src/provider/docker/docker-settings.js';
import { parseControllerConfig } from '../src/settings/controller-config.js';

const codes = (errors: { code: string; path: string }[]) => errors.map((e) => `${e.code} ${e.path}`);

describe('parseDockerSettings', () => {
  it('is off when absent, and on with the defaults when empty', () => {
    assert.deepEqual(parseDockerSettings(undefined), { docker: null, errors: [] });
    for (const empty of [null, {}]) {
      const { docker, errors } = parseDockerSettings(empty);
      assert.deepEqual(errors, []);
      assert.deepEqual(docker, {
        settings: {
          endpoint: 'unix:///var/run/docker.sock',
          exposedByDefault: false,
          constraints: '',
          defaultRule: 'Host(`{{ normalize .Name }}`)',
          network: '',
          useBindPortIP: false,
          allowEmptyServices: false,
          prefixes: ['traefik', 'berth'],
        },
        connection: { kind: 'socket', socketPath: '/var/run/docker.sock' },
        watch: true,
      });
    }
  });

  it('reads every supported key, case-insensitively, and string booleans', () => {
    const { docker, errors } = parseDockerSettings({
      Endpoint: 'tcp://docker-proxy:2375',
      exposedbydefault: 'true',
      constraints: 'Label(`team`, `web`)',
      defaultRule: 'Host(`{{ .Name }}.example.com`)',
      network: 'proxy',
      useBindPortIP: true,
      allowEmptyServices: true,
      watch: false,
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(docker?.settings, {
      endpoint: 'tcp://docker-proxy:2375',
      exposedByDefault: true,
      constraints: 'Label(`team`, `web`)',
      defaultRule: 'Host(`{{ .Name }}.example.com`)',
      network: 'proxy',
      useBindPortIP: true,
      allowEmptyServices: true,
      prefixes: ['traefik', 'berth'],
    });
    assert.deepEqual(docker?.connection, { kind: 'tcp', host: 'docker-proxy', port: 2375, protocol: 'http' });
    assert.equal(docker?.watch, false);
  });

  it('takes DOCKER_HOST when no endpoint is written, and the written one over it', () => {
    const env = { DOCKER_HOST: 'unix:///run/user/1000/docker.sock' };
    assert.equal(parseDockerSettings({}, env).docker?.settings.endpoint, env.DOCKER_HOST);
    assert.equal(
      parseDockerSettings({ endpoint: 'unix:///other.sock' }, env).docker?.settings.endpoint,
      'unix:///other.sock',
    );
  });

  it('uses tls files for a tcp endpoint', () => {
    const { docker } = parseDockerSettings({
      endpoint: 'tcp://10.0.0.5:2376',
      tls: { ca: '/c/ca.pem', cert: '/c/cert.pem', key: '/c/key.pem' },
    });
    assert.deepEqual(docker?.connection, {
      kind: 'tcp',
      host: '10.0.0.5',
      port: 2376,
      protocol: 'https',
      tls: { ca: '/c/ca.pem', cert: '/c/cert.pem', key: '/c/key.pem' },
    });
  });

  it('does not start on a bad value, and says which setting and why', () => {
    const { docker, errors } = parseDockerSettings({ exposedByDefault: 'yes', network: 3 });
    assert.equal(docker, null);
    assert.deepEqual(codes(errors), [
      'BERTH_DOCKER_SETTING_INVALID providers.docker.exposedByDefault',
      'BERTH_DOCKER_SETTING_INVALID providers.docker.network',
    ]);
    assert.match(
      errors[0]?.message ?? '',
      /providers\.docker\.exposedByDefault: expected true or false, got 'yes'/,
    );
  });

  it('does not start on an endpoint it cannot use, also from DOCKER_HOST', () => {
    const written = parseDockerSettings({ endpoint: 'ssh://me@host' });
    assert.equal(written.docker, null);
    assert.deepEqual(codes(written.errors), ['BERTH_DOCKER_SETTING_INVALID providers.docker.endpoint']);
    const fromEnv = parseDockerSettings({}, { DOCKER_HOST: 'npipe:////./pipe/docker_engine' });
    assert.equal(fromEnv.docker, null);
    assert.match(fromEnv.errors[0]?.message ?? '', /from DOCKER_HOST/);
  });

  it('reports unknown and not-yet-supported keys but still starts', () => {
    const { docker, errors } = parseDockerSettings({
      exposedByDefualt: false,
      swarmMode: true,
      httpClientTimeout: '30s',
      tls: { insecureSkipVerify: true, pem: 'x' },
    });
    assert.notEqual(docker, null);
    assert.deepEqual(codes(errors), [
      'BERTH_DOCKER_SETTING_UNKNOWN providers.docker.exposedByDefualt',
      'BERTH_DOCKER_SETTING_UNSUPPORTED providers.docker.swarmMode',
      'BERTH_DOCKER_SETTING_UNSUPPORTED providers.docker.httpClientTimeout',
      'BERTH_DOCKER_SETTING_UNSUPPORTED providers.docker.tls.insecureSkipVerify',
      'BERTH_DOCKER_SETTING_UNKNOWN providers.docker.tls.pem',
    ]);
  });
});

describe('providers.docker in the controller config file', () => {
  it('is parsed with the line of each error', () => {
    const parsed = parseControllerConfig(
      'entryPoints:\n  web:\n    address: ":80"\nproviders:\n  docker:\n    exposedByDefault: true\n    nettwork: x\n',
      '/etc/berth.yaml',
      {},
    );
    assert.equal(parsed.docker?.settings.exposedByDefault, true);
    assert.deepEqual(codes(parsed.errors), ['BERTH_DOCKER_SETTING_UNKNOWN providers.docker.nettwork']);
    assert.deepEqual(parsed.errors[0]?.source, { provider: 'static', origin: '/etc/berth.yaml', line: 7 });
  });

  it('is null when the file has no providers.docker', () => {
    const parsed = parseControllerConfig('providers:\n  file:\n    directory: ./d\n', '/etc/berth.yaml', {});
    assert.equal(parsed.docker, null);
  });
});
