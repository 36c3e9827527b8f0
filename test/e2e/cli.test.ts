// The berth command: help on every command, tables and JSON from the API, and `berth up` end to end.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Child, ChildGroup } from '@berth/cli';
import { Cluster, eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, freePort, freePortRun, get, startBackend } from '../helpers/http.js';

/** GET https://<host>:<port>/ on loopback, SNI `host`, any certificate. */
function httpsGet(port: number, host: string): Promise<{ status: number; backend: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        servername: host,
        headers: { host },
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, backend: String(res.headers['x-backend']) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function run(group: ChildGroup, args: string[]): Promise<{ code: number | string; out: string }> {
  const child = group.berth(`berth ${args[0] ?? ''}`, args);
  const code = await child.exited;
  return { code, out: child.output() };
}

describe('the berth command', () => {
  const group = new ChildGroup();
  let cluster: Cluster;
  let backend: Backend;

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml([backend.url]));
    await cluster.writeDynamic(
      'tcp.yml',
      'tcp:\n  routers:\n    vault:\n      rule: HostSNI(`vault.test`)\n      service: vault\n      tls: { passthrough: true }\n  services:\n    vault:\n      loadBalancer: { servers: [{ address: "127.0.0.1:9" }] }\n',
    );
    // A router whose rule does not parse: the provider drops it, `berth routes` must still show it.
    await cluster.writeDynamic(
      'broken.yml',
      'http:\n  routers:\n    broken:\n      rule: Host(`broken.test`\n      service: app\n',
    );
    await cluster.startController();
    await cluster.startNode('node-1');
  });

  after(async () => {
    await group.stopAll();
    await cluster?.close();
    await backend?.close();
  });

  it('prints help for every command', async () => {
    const top = await run(group, ['--help']);
    assert.equal(top.code, 0);
    assert.match(top.out, /up +start a controller, proxy nodes and two demo backends/);
    for (const cmd of ['up', 'controller', 'proxy', 'token', 'nodes', 'routes', 'certs']) {
      assert.match(top.out, new RegExp(`\\b${cmd}\\b`));
      const r = await run(group, [cmd, '--help']);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, new RegExp(`Usage: berth ${cmd}`));
    }
    const bad = await run(group, ['nodes', '--no-such-flag']);
    assert.equal(bad.code, 2);
  });

  it('prints the join token from the data dir', async () => {
    const r = await run(group, ['token', '--data-dir', join(cluster.dir, 'controller')]);
    assert.equal(r.code, 0);
    assert.equal(r.out.trim(), cluster.controller!.token);
    const json = await run(group, ['token', '--data-dir', join(cluster.dir, 'controller'), '--json']);
    assert.equal(json.code, 0, json.out);
    assert.deepEqual(JSON.parse(json.out), {
      token: cluster.controller!.token,
      file: join(cluster.dir, 'controller', 'join-token'),
    });
  });

  it('lists nodes and routes as tables and as JSON', async () => {
    const api = cluster.controller!.api;
    const nodes = await run(group, ['nodes', '--api', api]);
    assert.equal(nodes.code, 0, nodes.out);
    assert.match(nodes.out, /^NAME\s+ID\s+STATE/m);
    assert.match(nodes.out, /node-1\s+\S+\s+connected/);
    // `--api` takes host:port too, as `berth controller --api` does.
    const byHostPort = await run(group, ['nodes', '--api', new URL(api).host]);
    assert.equal(byHostPort.code, 0, byHostPort.out);
    assert.match(byHostPort.out, /node-1\s+\S+\s+connected/);
    const routes = await run(group, ['routes', '--api', api, '--json']);
    const list = JSON.parse(routes.out) as { name: string; rule: string }[];
    assert.equal(list.find((r) => r.name === 'app@file')?.rule, 'Host(`app.test`)');
    const table = await run(group, ['routes', '--api', api]);
    assert.match(table.out, /app@file\s+enabled\s+web \(http\)/);
    // Every router the sources define, the one a provider dropped too, with its error in full.
    assert.match(table.out, /^broken@file\s+error\s+-\s+-\s+-\s+-\s+BERTH_CONFIG_RULE_SYNTAX$/m);
    assert.match(table.out, /^Errors:\n {2}broken@file: BERTH_CONFIG_RULE_SYNTAX: .*broken\.yml:\d+\)$/m);
    const broken = list.find((r) => r.name === 'broken@file') as unknown as {
      status: string;
      errors: { path: string }[];
    };
    assert.equal(broken.status, 'error');
    assert.equal(broken.errors[0]?.path, 'http.routers.broken.rule');
    const tcp = await run(group, ['routes', '--api', api, '--tcp']);
    assert.equal(tcp.code, 0, tcp.out);
    assert.match(tcp.out, /^ROUTER\s+STATUS.*\bTLS\s+ERRORS/m);
    assert.match(
      tcp.out,
      /vault@file\s+enabled\s+\S+\s+\d+\s+vault@file\s+HostSNI\(`vault\.test`\)\s+passthrough\s+-/,
    );
  });

  it('lists certificates as a table and as JSON (the generated default one, as a TLS router exists)', async () => {
    const api = cluster.controller!.api;
    const json = await run(group, ['certs', '--api', api, '--json']);
    assert.equal(json.code, 0, json.out);
    const certs = JSON.parse(json.out) as { origin: string; isDefault: boolean; names: string[] }[];
    assert.deepEqual(
      certs.map((c) => [c.origin, c.isDefault, c.names]),
      [['default', true, ['berth default cert']]],
    );
    assert.doesNotMatch(json.out, /PRIVATE KEY/);
    const table = await run(group, ['certs', '--api', api]);
    assert.equal(table.code, 0, table.out);
    assert.match(table.out, /^NAMES\s+STATUS\s+NOT AFTER\s+ORIGIN/m);
    assert.match(table.out, /berth default cert\s+enabled/);
  });

  it('says clearly when the API is unreachable', async () => {
    const r = await run(group, ['nodes', '--api', `http://127.0.0.1:${await freePort()}`]);
    assert.equal(r.code, 1);
    assert.match(r.out, /cannot reach the controller API.*BERTH_CLI_API_UNREACHABLE/s);
  });

  it('exits with the reason, instead of hanging, when the API port is taken', async () => {
    const taken = createNetServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const dir = await mkdtemp(join(tmpdir(), 'berth-taken-'));
    try {
      const port = (taken.address() as AddressInfo).port;
      const r = await run(group, [
        'controller',
        '--data-dir',
        dir,
        '--listen',
        '127.0.0.1:0',
        '--api',
        `127.0.0.1:${port}`,
      ]);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, new RegExp(`--api: cannot listen on 127\\.0\\.0\\.1:${port}.*EADDRINUSE`));
    } finally {
      taken.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  /** Starts `berth up` in `dir` on fresh ports and waits for its banner. */
  async function startUp(dir: string): Promise<{ up: Child; base: number; tls: number }> {
    const base = await freePortRun(2);
    const tls = await freePortRun(2);
    const up = group.berth('up', [
      'up',
      '--dir',
      dir,
      '--port',
      String(base),
      '--tls-port',
      String(tls),
      '--api',
      '127.0.0.1:0',
    ]);
    await eventually(
      () => up.output().includes('Press Ctrl-C'),
      30_000,
      () => up.output(),
    );
    return { up, base, tls };
  }

  const nodePid = async (dir: string, name: string): Promise<number> =>
    (JSON.parse(await readFile(join(dir, name, 'status.json'), 'utf8')) as { pid: number }).pid;

  it('`berth up` starts a controller, two nodes and two demo backends, restarts a node that is killed, and stops them all on Ctrl-C', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-up-'));
    try {
      const { up, base, tls } = await startUp(dir);
      for (const port of [base, base + 1]) {
        const seen = new Set<string>();
        for (let i = 0; i < 4; i++) {
          const res = await get(port, 'demo.localhost');
          assert.equal(res.status, 200);
          seen.add(String(res.headers['x-backend']));
        }
        assert.deepEqual([...seen].sort(), ['demo-a', 'demo-b']);
      }
      for (const port of [tls, tls + 1]) {
        const res = await httpsGet(port, 'demo.localhost');
        assert.equal(res.status, 200, 'HTTPS with the default certificate');
        assert.match(res.backend, /^demo-[ab]$/);
      }
      assert.match(up.output(), /HTTPS: +curl -k --resolve demo\.localhost:\d+:127\.0\.0\.1 https:/);
      const api = /API: +(http:\/\/[\d.:]+)\/api/.exec(up.output())?.[1] ?? '';
      // The CLI line is one to copy: the `berth` bin, with --api only when it is not the default.
      assert.ok(up.output().includes(`CLI:        npx berth nodes --api ${api} `), up.output());
      const routes = await run(group, ['routes', '--api', api]);
      assert.match(routes.out, /^demo@file\s+enabled\s+web \(http\)\s/m, routes.out);
      assert.match(routes.out, /^demo-tls@file\s+enabled\s+websecure \(https\)\s/m, routes.out);
      assert.match(routes.out, /^catch-all@file\s+enabled\s+web \(http\)\s/m, routes.out);
      // As the table says: the plain catch-all answers on web, not to HTTPS on websecure.
      assert.equal((await get(base, 'other.localhost')).status, 200);
      assert.equal((await httpsGet(tls, 'other.localhost')).status, 404);

      // A node dies hard: the others keep serving, `berth up` starts it again and says so.
      const killed = await nodePid(dir, 'node-2');
      process.kill(killed, 'SIGKILL');
      await eventually(
        async () =>
          (await nodePid(dir, 'node-2')) !== killed && (await get(base + 1, 'demo.localhost')).status === 200,
        30_000,
        () => up.output(),
      );
      for (let i = 0; i < 4; i++)
        assert.equal((await get(base, 'demo.localhost')).status, 200, 'node-1 serves');
      assert.equal(up.proc.exitCode, null, 'berth up is still running');
      assert.match(up.output(), /node-2 exited \(SIGKILL\); restarting it in 0\.5 s/);
      await eventually(
        () => /node-2 is serving again/.test(up.output()),
        10_000,
        () => up.output(),
      );

      up.proc.kill('SIGINT');
      assert.equal(await up.exited, 0, up.output());
      await assert.rejects(get(base, 'demo.localhost', '/', 1000), 'nodes are gone');
      await assert.rejects(get(base + 1, 'demo.localhost', '/', 1000), 'the restarted node is gone too');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('`berth up` keeps the edits to demo.yml when it starts again, and the demo still answers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-up-again-'));
    try {
      const first = await startUp(dir);
      first.up.proc.kill('SIGINT');
      assert.equal(await first.up.exited, 0, first.up.output());
      const demo = join(dir, 'up', 'dynamic', 'demo.yml');
      const edited = (await readFile(demo, 'utf8')).replace(
        '  routers:\n',
        '  routers:\n    mine:\n      rule: Host(`mine.localhost`)\n      service: demo\n',
      );
      await writeFile(demo, edited);

      // The demo backends come back on other ports; the user's file must survive and still work.
      const second = await startUp(dir);
      try {
        assert.equal(await readFile(demo, 'utf8'), edited);
        assert.match(second.up.output(), /keeping your .*demo\.yml/);
        await eventually(
          async () => (await get(second.base, 'mine.localhost')).status === 200,
          15_000,
          () => second.up.output(),
        );
        assert.equal((await get(second.base + 1, 'demo.localhost')).status, 200);
      } finally {
        second.up.proc.kill('SIGINT');
        await second.up.exited;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('`berth up` exits non-zero, naming the address, when a node cannot bind its port', async () => {
    const taken = createNetServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const dir = await mkdtemp(join(tmpdir(), 'berth-up-taken-'));
    try {
      const port = (taken.address() as AddressInfo).port;
      const up = group.berth('up', [
        'up',
        '--dir',
        dir,
        '--nodes',
        '1',
        '--port',
        String(port),
        '--tls-port',
        String(await freePortRun(1)),
        '--api',
        '127.0.0.1:0',
      ]);
      const code = await up.exited;
      assert.equal(code, 1, up.output());
      assert.match(up.output(), new RegExp(`node-1 .*cannot listen on 127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(up.output(), /Berth is up/);
    } finally {
      taken.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
