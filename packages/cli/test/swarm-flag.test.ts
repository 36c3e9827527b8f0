// `berth controller --swarm[=endpoint]`: bare or with an endpoint, checked before the controller starts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSwarmFlag } from '../src/commands/controller.js';
import { CliError } from '../src/output.js';

describe('the --swarm flag', () => {
  it('is off when absent, and alone watches DOCKER_HOST or the local socket with the defaults', async () => {
    assert.equal(await parseSwarmFlag(undefined, {}), undefined);
    const local = await parseSwarmFlag('', {});
    assert.equal(local?.settings.endpoint, 'unix:///var/run/docker.sock');
    assert.equal(local?.settings.refreshSeconds, 15);
    assert.equal(local?.settings.exposedByDefault, false);
  });

  it('takes an endpoint, and refuses one it cannot use with BERTH_CLI_BAD_FLAG', async () => {
    const given = await parseSwarmFlag('tcp://manager:2375', {});
    assert.deepEqual(given?.connection, { kind: 'tcp', host: 'manager', port: 2375, protocol: 'http' });
    await assert.rejects(
      parseSwarmFlag('ssh://me@host', {}),
      (err: unknown) =>
        err instanceof CliError &&
        err.code === 'BERTH_CLI_BAD_FLAG' &&
        /^--swarm: 'ssh:\/\/me@host'/.test(err.message),
    );
  });
});
