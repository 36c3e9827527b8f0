// `providers.swarm` of the static file: Traefik v3's keys and defaults, refreshSeconds, and errors that name the setting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSwarmSettings } from '../src/provider/swarm/swarm-settings.js';
import { parseControllerConfig } from '../src/settings/controller-config.js';

const codes = (errors: { code: string; path: string }[]) => errors.map((e) => `${e.code} ${e.path}`);

describe('parseSwarmSettings', () => {
  it('is off when absent, and on with the defaults when empty', () => {
    assert.deepEqual(parseSwarmSettings(undefined), { swarm: null, errors: [] });
    for (const empty of [null, {}]) {
      const { swarm, errors } = parseSwarmSettings(empty);
      assert.deepEqual(errors, []);
      assert.deepEqual(swarm, {
        settings: {
          endpoint: 'unix:///var/run/docker.sock',
          exposedByDefault: false,
          constraints: '',
          defaultRule: 'Host(`{{ normalize .Name }}`)',
          network: '',
          useBindPortIP: false,
          allowEmptyServices: false,
          prefixes: ['traefik', 'berth'],
          refreshSeconds: 15,
        },
        connection: { kind: 'socket', socketPath: '/var/run/docker.sock' },
        watch: true,
      });
    }
  });

  it('reads every supported key, case-insensitively, and refreshSeconds as seconds or a duration', () => {
    const { swarm, errors } = parseSwarmSettings({
      ENDPOINT: 'tcp://manager:2375',
      exposedByDefault: 'true',
      Constraints: 'Label(`team`, `web`)',
      defaultrule: 'Host(`{{ .Name }}.example.com`)',
      network: 'proxy',
      useBindPortIP: true,
      allowEmptyServices: true,
      watch: false,
      RefreshSeconds: 30,
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(swarm?.settings, {
      endpoint: 'tcp://manager:2375',
      exposedByDefault: true,
      constraints: 'Label(`team`, `web`)',
      defaultRule: 'Host(`{{ .Name }}.example.com`)',
      network: 'proxy',
      useBindPortIP: true,
      allowEmptyServices: true,
      prefixes: ['traefik', 'berth'],
      refreshSeconds: 30,
    });
    assert.deepEqual(swarm?.connection, { kind: 'tcp', host: 'manager', port: 2375, protocol: 'http' });
    assert.equal(swarm?.watch, false);
    for (const [value, seconds] of [
      ['1m', 60],
      ['45s', 45],
      ['20', 20],
    ] as const) {
      assert.equal(parseSwarmSettings({ refreshSeconds: value }).swarm?.settings.refreshSeconds, seconds);
    }
  });

  it('takes DOCKER_HOST when no endpoint is written', () => {
    const env = { DOCKER_HOST: 'unix:///run/user/1000/docker.sock' };
    assert.equal(parseSwarmSettings({}, env).swarm?.settings.endpoint, env.DOCKER_HOST);
  });

  it('does not start on a bad value, and says which setting and why', () => {
    for (const bad of [0, '0.5s', 'soon', -3, true]) {
      const { swarm, errors } = parseSwarmSettings({ refreshSeconds: bad });
      assert.equal(swarm, null, `refreshSeconds ${String(bad)}`);
      assert.deepEqual(codes(errors), ['BERTH_SWARM_SETTING_INVALID providers.swarm.refreshSeconds']);
    }
    const { swarm, errors } = parseSwarmSettings({ exposedByDefault: 'yes', endpoint: 'ssh://me@host' });
    assert.equal(swarm, null);
    assert.deepEqual(codes(errors), ['BERTH_SWARM_SETTING_INVALID providers.swarm.exposedByDefault']);
    assert.match(
      errors[0]?.message ?? '',
      /providers\.swarm\.exposedByDefault: expected true or false, got 'yes'/,
    );
    const endpoint = parseSwarmSettings({ endpoint: 'ssh://me@host' });
    assert.deepEqual(codes(endpoint.errors), ['BERTH_SWARM_SETTING_INVALID providers.swarm.endpoint']);
    assert.deepEqual(codes(parseSwarmSettings([]).errors), ['BERTH_SWARM_SETTING_INVALID providers.swarm']);
  });

  it('reports unknown and not-yet-supported keys but still starts', () => {
    const { swarm, errors } = parseSwarmSettings({ refreshSecond: 5, password: 'x', swarmMode: true });
    assert.notEqual(swarm, null);
    assert.deepEqual(codes(errors), [
      'BERTH_SWARM_SETTING_UNKNOWN providers.swarm.refreshSecond',
      'BERTH_SWARM_SETTING_UNSUPPORTED providers.swarm.password',
      'BERTH_SWARM_SETTING_UNKNOWN providers.swarm.swarmMode',
    ]);
    assert.match(errors[0]?.message ?? '', /known: .*refreshSeconds/);
  });
});

describe('providers.swarm in the controller config file', () => {
  it('is parsed next to providers.docker, with the line of each error', () => {
    const parsed = parseControllerConfig(
      'providers:\n  docker: {}\n  Swarm:\n    refreshSeconds: 5s\n    lbswarm: true\n',
      '/etc/berth.yaml',
      {},
    );
    assert.equal(parsed.swarm?.settings.refreshSeconds, 5);
    assert.notEqual(parsed.docker, null);
    assert.deepEqual(codes(parsed.errors), ['BERTH_SWARM_SETTING_UNKNOWN providers.swarm.lbswarm']);
    assert.deepEqual(parsed.errors[0]?.source, { provider: 'static', origin: '/etc/berth.yaml', line: 5 });
  });

  it('is null when the file has no providers.swarm', () => {
    assert.equal(parseControllerConfig('providers:\n  docker: {}\n', '/etc/berth.yaml', {}).swarm, null);
  });
});
