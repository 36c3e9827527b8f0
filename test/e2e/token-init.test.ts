// How the first join token reaches nodes without a manual copy: `berth token init` makes it before the
// controller's first start (for a Swarm secret), `--join-token-file` keeps a copy where nodes can read it.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseToken } from '@berth/protocol';
import { Cluster, eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, freePort, startBackend, whoAnswers } from '../helpers/http.js';

describe('join token ahead of the controller', () => {
  let cluster: Cluster;
  let backend: Backend;

  const cli = async (name: string, args: string[]) => {
    const child = cluster.group.berth(name, args);
    const code = await child.exited;
    return { code, output: child.output() };
  };

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml([backend.url]));
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it('token init, then the controller hands out that same token and keeps a copy in --join-token-file', async () => {
    const port = await freePort();
    const dataDir = join(cluster.dir, 'controller');
    const advertise = `127.0.0.1:${port}`;
    const first = await cli('init-1', ['token', 'init', '--advertise', advertise, '--data-dir', dataDir]);
    assert.equal(first.code, 0, first.output);
    const token = first.output.split('\n').find((l) => l.startsWith('berth1.'));
    assert.ok(token, first.output);
    assert.match(first.output, /created the controller CA and join secret/);
    assert.equal(parseToken(token).url, `wss://${advertise}`);
    assert.equal((await stat(join(dataDir, 'join-secret'))).mode & 0o777, 0o600);

    // Again: nothing is replaced, the token is the same.
    const again = await cli('init-2', ['token', 'init', '--advertise', advertise, '--data-dir', dataDir]);
    assert.equal(again.code, 0, again.output);
    assert.ok(again.output.includes(token), again.output);
    assert.match(again.output, /already holds a controller CA/);

    const shared = join(cluster.dir, 'shared', 'join-token');
    const controller = await cluster.startController({
      nodesPort: port,
      extraArgs: ['--advertise', advertise, '--join-token-file', shared],
    });
    assert.equal(controller.token, token);
    assert.equal((await readFile(shared, 'utf8')).trim(), token);
    assert.equal((await stat(shared)).mode & 0o777, 0o600);

    // The environment's token is not one: the node must take the file's.
    await cluster.startNode('from-file', { token: 'not-this-one', extraArgs: ['--join-file', shared] });
    assert.equal(await whoAnswers(await cluster.webPort('from-file'), 'app.test'), 'a');

    // A rotation rewrites the copy too.
    const rotated = await cli('rotate', ['token', 'rotate', '--api', controller.api, '--data-dir', dataDir]);
    assert.equal(rotated.code, 0, rotated.output);
    const newToken = rotated.output.split('\n').find((l) => l.startsWith('berth1.'));
    assert.ok(newToken && newToken !== token, rotated.output);
    await eventually(async () => (await readFile(shared, 'utf8')).trim() === newToken, 5000);
  });

  it('token init without --advertise says what it needs', async () => {
    const res = await cli('init-bad', ['token', 'init', '--data-dir', join(cluster.dir, 'other')]);
    assert.equal(res.code, 1);
    assert.match(res.output, /needs --advertise HOST:PORT.*\[BERTH_CLI_BAD_FLAG\]/);
  });
});
