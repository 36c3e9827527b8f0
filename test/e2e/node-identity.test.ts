// Issue 10: per-node identities. A node enrolls once with the join token and connects with its own
// certificate from then on; `berth nodes rm` revokes one node (live and on its next connection);
// `berth token rotate` refuses new joins with the old secret while joined nodes keep working.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, startBackend, whoAnswers } from '../helpers/http.js';

interface ApiNode {
  id: string;
  name: string;
  connected: boolean;
  appliedVersion: number;
  certificate: { serial: string; expiresAt: string } | null;
}

describe('node identities', () => {
  let cluster: Cluster;
  let a: Backend;
  let b: Backend;

  /** Runs a `berth` CLI command against this cluster's controller; resolves with its exit code and output. */
  const cli = async (name: string, args: string[]) => {
    const child = cluster.group.berth(name, [
      ...args,
      '--api',
      cluster.controller!.api,
      '--data-dir',
      join(cluster.dir, 'controller'),
    ]);
    const code = await child.exited;
    return { code, output: child.output() };
  };
  const nodes = () => cluster.api<ApiNode[]>('/api/v1/nodes');
  const nodeNamed = async (name: string) => (await nodes()).find((n) => n.name === name);

  before(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml([a.url]));
    // Short-lived node certificates, so renewal happens within the test.
    await cluster.startController({ extraArgs: ['--node-cert-ttl-ms', '12000'] });
  });

  after(async () => {
    await cluster?.close();
    await a?.close();
    await b?.close();
  });

  it('enrolls a node once: its own key and certificate, 0600, listed with serial and expiry', async () => {
    const node = await cluster.startNode('edge-1');
    const file = join(node.dataDir, 'node-identity.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const identity = JSON.parse(await readFile(file, 'utf8')) as { nodeId: string; certPem: string };
    const status = await cluster.nodeStatus('edge-1');
    assert.equal(status.nodeId, identity.nodeId, 'the node runs under the id the controller issued');
    const listed = await nodeNamed('edge-1');
    assert.equal(listed?.id, identity.nodeId);
    assert.ok(listed?.certificate?.serial, 'the API shows the certificate serial');
    assert.equal((await stat(join(cluster.dir, 'controller', 'nodes.json'))).mode & 0o777, 0o600);
    const log = cluster.controller!.child.output();
    assert.match(log, /"msg":"node enrolled"/);
    assert.doesNotMatch(log, /BEGIN (EC )?PRIVATE KEY/, 'no key in the controller log');
  });

  it('renews the node certificate over the channel before it expires', async () => {
    const id = (await nodeNamed('edge-1'))!.id;
    /** The controller's log lines about this node with message `msg`. */
    const lines = (msg: string) =>
      cluster
        .controller!.child.output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; nodeId?: string; serial?: string; notAfter?: string })
        .filter((l) => l.msg === msg && l.nodeId === id);
    await eventually(
      () => lines('renewed node certificate').length > 0,
      15_000,
      () => cluster.logs(),
    );
    const enrolledSerial = lines('node enrolled')[0]?.serial;
    const renewed = lines('renewed node certificate')[0]!;
    assert.ok(renewed.serial && renewed.serial !== enrolledSerial, 'a new serial');
    await eventually(
      async () => (await nodeNamed('edge-1'))?.certificate?.serial === renewed.serial,
      5_000,
      () => cluster.logs(),
    );
    assert.match(cluster.nodes.get('edge-1')!.child.output(), /renewed the node certificate/);
    const after = await nodeNamed('edge-1');
    assert.equal(after?.certificate?.expiresAt, renewed.notAfter);
    assert.equal(after?.connected, true, 'renewal does not drop the connection');
    // The next connection uses the renewed certificate, long after the first one would have expired.
    await cluster.stopNode('edge-1');
    await new Promise((r) => setTimeout(r, 1000));
    await cluster.startNode('edge-1');
    // Stopped with SIGTERM, it left the list: the entry now is its new connection's.
    const rejoined = await eventually(
      async () => {
        const n = await nodeNamed('edge-1');
        return n?.connected ? n : null;
      },
      10_000,
      () => cluster.logs(),
    );
    assert.equal(rejoined.certificate?.serial, after?.certificate?.serial);
  });

  it('rotates the join token: new joins need the new one, joined nodes keep receiving snapshots', async () => {
    const oldToken = cluster.controller!.token;
    const rotated = await cli('rotate', ['token', 'rotate']);
    assert.equal(rotated.code, 0, rotated.output);
    const newToken = rotated.output.split('\n').find((l) => l.startsWith('berth1.'));
    assert.ok(newToken && newToken !== oldToken, 'prints a new token');
    assert.match(cluster.controller!.child.output(), /rotated the join token/);
    assert.doesNotMatch(
      cluster.controller!.child.output(),
      new RegExp(newToken.split('.')[3]!),
      'never logged',
    );

    // A new node with the old token is refused (and, with nothing to serve, exits).
    const late = await cluster.startNode('late', { token: oldToken, waitApplied: false });
    assert.equal(await late.child.exited, 1);
    assert.match(late.child.output(), /BERTH_PROXY_TOKEN_REFUSED/);

    // The joined node still gets every snapshot.
    const version = (await cluster.nodeStatus('edge-1')).appliedVersion;
    await cluster.writeDynamic('routes.yml', singleRouteYaml([b.url]));
    await cluster.nodeStatus('edge-1', (s) => s.appliedVersion > version);
    assert.equal(await whoAnswers(await cluster.webPort('edge-1'), 'app.test'), 'b');
    // Restarted with the old token, it still connects: its certificate is its credential now.
    await cluster.stopNode('edge-1');
    await cluster.startNode('edge-1', { token: oldToken });
    await eventually(
      async () => (await nodeNamed('edge-1'))?.connected === true,
      10_000,
      () => cluster.logs(),
    );

    // A new node with the new token joins.
    await cluster.startNode('edge-2', { token: newToken });
    assert.equal(await whoAnswers(await cluster.webPort('edge-2'), 'app.test'), 'b');
    cluster.controller!.token = newToken;
  });

  it('keeps the old token working for the grace period when asked', async () => {
    const oldToken = cluster.controller!.token;
    const rotated = await cli('rotate-grace', ['token', 'rotate', '--grace', '1h', '--json']);
    assert.equal(rotated.code, 0, rotated.output);
    const reply = JSON.parse(rotated.output.slice(rotated.output.indexOf('{'))) as {
      token: string;
      previousExpiresAt: string;
    };
    assert.ok(Date.parse(reply.previousExpiresAt) > Date.now() + 50 * 60_000);
    await cluster.startNode('graceful', { token: oldToken });
    cluster.controller!.token = reply.token;
    await cluster.stopNode('graceful');
  });

  it('removes a node: its live connection is closed and it stops, and it stays out', async () => {
    const node = cluster.nodes.get('edge-2')!;
    const removed = await cli('rm', ['nodes', 'rm', 'edge-2']);
    assert.equal(removed.code, 0, removed.output);
    assert.match(removed.output, /removed node edge-2/);
    assert.equal(await node.child.exited, 1, 'the removed node stops');
    assert.match(node.child.output(), /BERTH_NODE_REVOKED/);
    assert.equal(await nodeNamed('edge-2'), undefined, 'no longer listed');
    assert.match(cluster.controller!.child.output(), /node removed: its certificate is refused/);

    // Its next connection is refused too, before any hello.
    const again = await cluster.startNode('edge-2', { waitApplied: false });
    assert.equal(await again.child.exited, 1);
    assert.match(again.child.output(), /BERTH_NODE_REVOKED/);
    assert.equal(await nodeNamed('edge-2'), undefined);
    // The other node is untouched.
    assert.equal((await nodeNamed('edge-1'))?.connected, true);
  });

  it('refuses a disconnected node removed by id on its next connection', async () => {
    await cluster.startNode('edge-3');
    const id = (await nodeNamed('edge-3'))!.id;
    await cluster.stopNode('edge-3');
    const removed = await cli('rm-id', ['nodes', 'rm', id]);
    assert.equal(removed.code, 0, removed.output);
    const node = await cluster.startNode('edge-3', { waitApplied: false });
    assert.equal(await node.child.exited, 1);
    assert.match(node.child.output(), /BERTH_NODE_REVOKED/);
  });

  it('refuses the write routes without the admin or API token', async () => {
    const res = await fetch(`${cluster.controller!.api}/api/v1/token/rotate`, { method: 'POST' });
    assert.equal(res.status, 401);
    const del = await fetch(`${cluster.controller!.api}/api/v1/nodes/x`, { method: 'DELETE' });
    assert.equal(del.status, 401);
  });
});
