// The berth command: help on every command, tables and JSON from the API, and `berth up` end to end.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChildGroup } from '@berth/cli';
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
    assert.equal(list.find((r) => r.name === 'app')?.rule, 'Host(`app.test`)');
    const table = await run(group, ['routes', '--api', api]);
    assert.match(table.out, /app\s+enabled\s+web/);
    const tcp = await run(group, ['routes', '--api', api, '--tcp']);
    assert.equal(tcp.code, 0, tcp.out);
    assert.match(tcp.out, /^ROUTER\s+STATUS.*\bTLS\s+ERRORS/m);
    assert.match(tcp.out, /vault\s+enabled\s+\S+\s+\d+\s+vault\s+HostSNI\(`vault\.test`\)\s+passthrough\s+-/);
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

  it('`berth up` starts a controller, two nodes and a demo backend, and stops them all on Ctrl-C', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-up-'));
    try {
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
      up.proc.kill('SIGINT');
      assert.equal(await up.exited, 0);
      await assert.rejects(get(base, 'demo.localhost', '/', 1000), 'nodes are gone');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
