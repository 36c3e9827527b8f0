// The controller API and the command line against local attackers: DNS rebinding, secrets in argv.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ChildGroup } from '@berth/cli';
import { Cluster } from '../helpers/cluster.js';

/** GET on the controller API's port with exactly this Host header. */
function getWithHost(api: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const url = new URL(path, api);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, agent: false, headers: { host } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function run(group: ChildGroup, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = group.berth(`berth ${args[0] ?? ''}`, args, { env });
  const code = await child.exited;
  return { code, out: child.output() };
}

describe('the controller API against DNS rebinding', () => {
  const group = new ChildGroup();
  let cluster: Cluster;

  before(async () => {
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', 'http:\n  routers: {}\n');
    await cluster.startController({ extraArgs: ['--api-host', 'berth-api.test'] });
  });

  after(async () => {
    await group.stopAll();
    await cluster?.close();
  });

  it('refuses a foreign Host with 421, answers loopback and the --api-host name', async () => {
    const api = cluster.controller!.api;
    const port = new URL(api).port;
    const refused = await getWithHost(api, '/api/v1/status', `evil.example:${port}`);
    assert.equal(refused.status, 421);
    assert.equal(JSON.parse(refused.body).code, 'BERTH_API_HOST_REFUSED');
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `berth-api.test:${port}`,
      'berth-api.test',
    ]) {
      assert.equal((await getWithHost(api, '/api/v1/status', host)).status, 200, host);
    }
    assert.match(
      cluster.controller!.child.output(),
      /"code":"BERTH_API_HOST_REFUSED".*"host":"evil\.example:\d+"/,
    );
  });

  it('still answers the CLI', async () => {
    const r = await run(group, ['nodes', '--api', cluster.controller!.api, '--json']);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(JSON.parse(r.out), []);
  });
});
