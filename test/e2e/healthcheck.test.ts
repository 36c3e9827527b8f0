// `berth healthcheck` against a real controller and real proxy nodes: found by pid, or asked by URL; the exit status is the verdict.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { berthBin } from '@berth/cli';
import { Cluster, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, freePort, startBackend } from '../helpers/http.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function healthcheck(...args: string[]): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [berthBin, 'healthcheck', ...args],
      { timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr, ms: Math.round(performance.now() - started) });
      },
    );
  });
}

describe('berth healthcheck', () => {
  let cluster: Cluster;
  let backend: Backend;
  let apiPort: number;
  let metricsPort: number;

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml([backend.url]));
    apiPort = await freePort();
    metricsPort = await freePort();
    // A known API port: the healthcheck reads it from the controller's own flags (the last --api wins).
    await cluster.startController({ extraArgs: ['--api', `127.0.0.1:${apiPort}`] });
    await cluster.startNode('edge', { extraArgs: ['--metrics', `127.0.0.1:${metricsPort}`] });
    await cluster.startNode('bare');
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it("finds a controller's API from its pid and exits 0", async () => {
    const run = await healthcheck('--pid', String(cluster.controller!.child.pid));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `healthy: http://127.0.0.1:${apiPort}/healthz {"status":"ok"}\n`);
    assert.equal(run.stderr, '');
    console.log(`# berth healthcheck --pid (controller): ${run.ms} ms`);
  });

  it("finds a proxy node's /healthz from its --metrics flag and exits 0 once it serves a snapshot", async () => {
    const { version } = await cluster.api<{ version: number }>('/api/v1/snapshot');
    const run = await healthcheck('--pid', String(cluster.nodes.get('edge')!.child.pid));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      `healthy: http://127.0.0.1:${metricsPort}/healthz {"status":"ok","version":${version},"source":"controller"}\n`,
    );
    console.log(`# berth healthcheck --pid (proxy): ${run.ms} ms`);
  });

  it('asks the URL given with --url', async () => {
    const run = await healthcheck('--url', `http://127.0.0.1:${metricsPort}/healthz`, '--timeout', '2s');
    assert.equal(run.code, 0, run.stderr);
    console.log(`# berth healthcheck --url: ${run.ms} ms`);
  });

  it('exits 1 with one line when a proxy serves no health endpoint', async () => {
    const pid = cluster.nodes.get('bare')!.child.pid;
    const run = await healthcheck('--pid', String(pid));
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `berth healthcheck: process ${pid} (berth proxy): this proxy serves no health endpoint: start it with --metrics 127.0.0.1:9100 [BERTH_CLI_NO_HEALTH_ENDPOINT]\n`,
    );
    assert.equal(run.stdout, '');
  });

  it('exits 1 when nothing listens, and when the answer takes longer than --timeout', async () => {
    const closed = await freePort();
    const refused = await healthcheck('--url', `http://127.0.0.1:${closed}/healthz`);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^berth healthcheck: .*ECONNREFUSED.* \[BERTH_CLI_UNHEALTHY\]\n$/);

    // Accepts connections and never answers.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const slow = await healthcheck('--url', `http://127.0.0.1:${port}/healthz`, '--timeout', '300ms');
      assert.equal(slow.code, 1);
      assert.equal(
        slow.stderr,
        `berth healthcheck: http://127.0.0.1:${port}/healthz: no answer within 300ms [BERTH_CLI_UNHEALTHY]\n`,
      );
      assert.ok(slow.ms < 5000, `took ${slow.ms} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('exits 1 for a pid that is not berth, and for a bad flag', async () => {
    const notBerth = await healthcheck('--pid', String(process.pid));
    assert.equal(notBerth.code, 1);
    assert.match(notBerth.stderr, /is not berth: .* \[BERTH_CLI_NO_BERTH_PROCESS\]\n$/);
    const bad = await healthcheck('--timeout', 'soon');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--timeout expects a duration such as 3s, got 'soon' \[BERTH_CLI_BAD_FLAG\]/);
  });

  it('exits 1 while a node has no snapshot yet (503 starting)', async () => {
    await cluster.killController('SIGTERM');
    const port = await freePort();
    const node = await cluster.startNode('fresh', {
      waitApplied: false,
      extraArgs: ['--metrics', `127.0.0.1:${port}`],
    });
    // Its metrics server is up once it logged it; until then the healthcheck fails with ECONNREFUSED.
    const deadline = Date.now() + 20_000;
    while (!node.child.output().includes('serving metrics') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const run = await healthcheck('--pid', String(node.child.pid));
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `berth healthcheck: http://127.0.0.1:${port}/healthz answered 503: {"status":"starting"} [BERTH_CLI_UNHEALTHY]\n`,
    );
  });
});
