// The controller API and the command line against local attackers: DNS rebinding, secrets in argv.
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChildGroup, waitForJsonFile } from '@berth/cli';
import { parseToken } from '@berth/protocol';
import { Cluster, eventually } from '../helpers/cluster.js';

const API_TOKEN = 'k'.repeat(20) + Math.random().toString(36).slice(2).padEnd(20, 'z');

/** GET on the controller API's port with exactly this Host header. */
function getWithHost(api: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const url = new URL(path, api);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        agent: false,
        headers: { host, authorization: `Bearer ${API_TOKEN}` },
      },
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

/** The NUL-separated arguments of a running process, as every local user can read them. */
async function cmdline(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
}

describe('the controller API and secrets on the command line', () => {
  const group = new ChildGroup();
  let cluster: Cluster;
  let tokenFile: string;

  before(async () => {
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', 'http:\n  routers: {}\n');
    tokenFile = join(cluster.dir, 'api-token');
    await writeFile(tokenFile, `${API_TOKEN}\n`, { mode: 0o600 });
    await cluster.startController({
      extraArgs: ['--api-host', 'berth-api.test', '--api-token-file', tokenFile],
    });
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

  it('takes its API token from --api-token-file, out of the process list, and the CLI reads it the same way', async () => {
    const controller = cluster.controller!.child;
    assert.ok(!(await cmdline(controller.pid)).includes(API_TOKEN));
    assert.ok(!controller.output().includes('BERTH_CLI_SECRET'), controller.output());
    const api = cluster.controller!.api;
    const withFile = await run(group, ['nodes', '--api', api, '--api-token-file', tokenFile, '--json']);
    assert.equal(withFile.code, 0, withFile.out);
    assert.deepEqual(JSON.parse(withFile.out), []);
    assert.ok(!withFile.out.includes('warning'), withFile.out);
    const { BERTH_API_TOKEN: _, ...env } = process.env;
    const without = await run(group, ['nodes', '--api', api], env);
    assert.equal(without.code, 1);
    assert.match(without.out, /BERTH_API_UNAUTHORIZED/);
    const fromEnv = await run(group, ['routes', '--api', api, '--json'], {
      ...env,
      BERTH_API_TOKEN: API_TOKEN,
    });
    assert.equal(fromEnv.code, 0, fromEnv.out);
    // On the command line it still works, with a warning.
    const inArgs = await run(group, ['nodes', '--api', api, '--api-token', API_TOKEN, '--json'], env);
    assert.equal(inArgs.code, 0, inArgs.out);
    assert.match(
      inArgs.out,
      /berth nodes: warning: --api-token shows the secret.*\[BERTH_CLI_SECRET_IN_ARGS\]/,
    );
  });

  it('warns about a token file other users can read', async () => {
    const loose = join(cluster.dir, 'loose-token');
    await writeFile(loose, API_TOKEN);
    await chmod(loose, 0o644);
    const r = await run(group, [
      'nodes',
      '--api',
      cluster.controller!.api,
      '--api-token-file',
      loose,
      '--json',
    ]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /can be read by other users \(mode 0644\).*\[BERTH_CLI_SECRET_FILE_MODE\]/);
    const missing = await run(group, ['nodes', '--api-token-file', join(cluster.dir, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.out, /cannot read .*nope \(ENOENT\).*\[BERTH_CLI_SECRET_FILE\]/);
  });

  it('joins a node with --join-file, with no secret in its arguments', async () => {
    const joinToken = cluster.controller!.token;
    const joinFile = join(cluster.dir, 'join-token');
    await writeFile(joinFile, `${joinToken}\n`, { mode: 0o600 });
    // The environment holds a broken token: only the file can make this node join.
    const node = await cluster.startNode('from-file', {
      token: 'not-a-token',
      extraArgs: ['--join-file', joinFile],
    });
    const args = await cmdline(node.child.pid);
    assert.match(args, /--join-file/);
    assert.ok(!args.includes(parseToken(joinToken).secret), args);
    assert.ok(!node.child.output().includes('BERTH_CLI_SECRET'), node.child.output());
    // It applied a snapshot (startNode waited for it), and the controller lists it.
    const listed = await run(group, [
      'nodes',
      '--api',
      cluster.controller!.api,
      '--api-token-file',
      tokenFile,
      '--json',
    ]);
    const list = JSON.parse(listed.out) as { name: string; connected: boolean }[];
    assert.ok(
      list.some((n) => n.name === 'from-file' && n.connected),
      listed.out,
    );
  });

  it('warns when --join puts the token on the command line, and still joins', async () => {
    const joinToken = cluster.controller!.token;
    const node = await cluster.startNode('from-args', { extraArgs: ['--join', joinToken] });
    const line = await eventually(
      () =>
        node.child
          .output()
          .split('\n')
          .find((l) => l.includes('BERTH_CLI_SECRET_IN_ARGS')),
      10_000,
      () => node.child.output(),
    );
    const entry = JSON.parse(line) as { level: number; msg: string };
    assert.equal(entry.level, 40, 'a warning');
    assert.match(entry.msg, /--join shows the secret to every local user.*--join-file/);
    assert.ok(!line.includes(parseToken(joinToken).secret), 'the warning does not repeat the secret');
    // Once started, the node has overwritten its arguments: `ps` no longer shows the secret.
    const args = await cmdline(node.child.pid);
    assert.match(args, /proxy .*--join \*\*\*/);
    assert.ok(!args.includes(parseToken(joinToken).secret), args);
  });

  it('warns about a short API token given on the command line', async () => {
    const readyFile = join(cluster.dir, 'short-ready.json');
    const child = group.berth('short-token', [
      'controller',
      '--data-dir',
      join(cluster.dir, 'short'),
      '--listen',
      '127.0.0.1:0',
      '--api',
      '127.0.0.1:0',
      '--api-token',
      'hunter2',
      '--ready-file',
      readyFile,
    ]);
    await waitForJsonFile<{ pid: number }>(
      readyFile,
      (r) => r.pid === child.pid,
      20_000,
      () => child.output(),
    );
    const out = child.output();
    assert.match(out, /"code":"BERTH_CLI_SECRET_IN_ARGS".*--api-token shows the secret/);
    assert.match(out, /"code":"BERTH_CLI_API_TOKEN_SHORT","length":7.*has 7 characters/);
    await group.stop(child, 'SIGTERM');
  });
});
