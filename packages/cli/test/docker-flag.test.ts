// `berth controller --docker[=endpoint]`: bare or with an endpoint, checked before the controller starts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDockerFlag } from '../src/commands/controller.js';
import { run } from '../src/main.js';
import { CliError } from '../src/output.js';

describe('the --docker flag', () => {
  it('is off when absent', async () => {
    assert.equal(await parseDockerFlag(undefined, {}), undefined);
  });

  it('alone, watches DOCKER_HOST or the local socket with the default settings', async () => {
    const local = await parseDockerFlag('', {});
    assert.equal(local?.settings.endpoint, 'unix:///var/run/docker.sock');
    assert.equal(local?.settings.exposedByDefault, false);
    const fromEnv = await parseDockerFlag('', { DOCKER_HOST: 'tcp://proxy:2375' });
    assert.deepEqual(fromEnv?.connection, { kind: 'tcp', host: 'proxy', port: 2375, protocol: 'http' });
  });

  it('takes an endpoint', async () => {
    const given = await parseDockerFlag('unix:///run/docker.sock', { DOCKER_HOST: 'tcp://other:2375' });
    assert.deepEqual(given?.connection, { kind: 'socket', socketPath: '/run/docker.sock' });
  });

  it('refuses an endpoint it cannot use with BERTH_CLI_BAD_FLAG', async () => {
    await assert.rejects(
      parseDockerFlag('ssh://me@host', {}),
      (err: unknown) =>
        err instanceof CliError &&
        err.code === 'BERTH_CLI_BAD_FLAG' &&
        /^--docker: 'ssh:\/\/me@host'/.test(err.message),
    );
  });

  it('parses bare on the command line, with =endpoint, and with the endpoint as the next word', async () => {
    const write = process.stdout.write;
    let out = '';
    process.stdout.write = ((chunk: string) => {
      out += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      assert.equal(await run(['controller', '--docker', '--help']), 0);
      assert.equal(await run(['controller', '--docker=tcp://h:2375', '--help']), 0);
      assert.equal(await run(['controller', '--docker', 'unix:///run/docker.sock', '--help']), 0);
    } finally {
      process.stdout.write = write;
    }
    assert.match(out, /--docker\[=<endpoint>\]/);
  });
});
