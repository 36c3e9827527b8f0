// Done when 4: a node with a wrong join token is refused, serves nothing, and the controller logs who tried.
import assert from 'node:assert/strict';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatToken, newSecret, parseToken } from '@berth/protocol';
import { Cluster, eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, startBackend, whoAnswers } from '../helpers/http.js';

describe('joining with a token', () => {
  let cluster: Cluster;
  let backend: Backend;

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml([backend.url]));
    await cluster.startController();
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it('refuses a node with a wrong secret, serves nothing from it, and logs the attempt', async () => {
    const good = parseToken(cluster.controller!.token);
    const bad = formatToken({ ...good, secret: newSecret() });
    const intruder = await cluster.startNode('intruder', { token: bad, waitApplied: false });
    const line = await eventually(
      () =>
        cluster
          .controller!.child.output()
          .split('\n')
          .find((l) => l.includes('BERTH_TOKEN_REJECTED') && l.includes('"nodeName":"intruder"')),
      10_000,
      () => cluster.logs(),
    );
    const entry = JSON.parse(line) as { remote: string; reason: string; level: number };
    assert.match(entry.remote, /^127\.0\.0\.1:\d+$/);
    assert.equal(entry.reason, 'wrong secret');
    assert.ok(!line.includes(bad.split('.')[3]!), 'the secret it sent is never logged');
    // Nothing cached and nothing to wait for: the node says why and exits non-zero.
    assert.equal(await intruder.child.exited, 1);
    const output = intruder.child.output();
    const refusal = output
      .split('\n')
      .find((l) => l.startsWith('{') && l.includes('BERTH_PROXY_TOKEN_REFUSED'));
    assert.ok(refusal, output);
    const logged = JSON.parse(refusal) as { level: number; controller: string; msg: string };
    assert.equal(logged.level, 50, 'logged at error level');
    assert.equal(logged.controller, good.url);
    assert.match(logged.msg, /refused this node's join token/);
    assert.ok(logged.msg.includes(good.url), 'the message names the controller');
    assert.match(output, /berth proxy: .*refused this node's join token.* \[BERTH_PROXY_TOKEN_REFUSED\]/);
    assert.ok(!output.includes('controller unreachable'));
    const nodes = await cluster.api<{ name: string }[]>('/api/v1/nodes');
    assert.ok(!nodes.some((n) => n.name === 'intruder'));
    await assert.rejects(access(intruder.statusFile), 'the refused node applied nothing');
    assert.ok(!output.includes('applied snapshot'));
  });

  it('keeps serving its cached snapshot and retrying when its token is refused later', async () => {
    const first = await cluster.startNode('rotated');
    await cluster.stopNode('rotated');
    // Without its own certificate the node must enroll again, and the token is the wrong one now.
    await rm(join(first.dataDir, 'node-identity.json'));
    const good = parseToken(cluster.controller!.token);
    const bad = formatToken({ ...good, secret: newSecret() });
    const node = await cluster.startNode('rotated', { token: bad });
    const status = await cluster.nodeStatus('rotated', (s) => s.appliedVersion > 0);
    assert.equal(status.fromCache, true);
    const refusals = () =>
      node.child
        .output()
        .split('\n')
        .filter((l) => l.includes('BERTH_PROXY_TOKEN_REFUSED') && l.includes('"level":50'));
    await eventually(
      () => refusals().length >= 2,
      15_000,
      () => cluster.logs(),
    );
    assert.ok(refusals()[0]!.includes(good.url), 'names the controller');
    assert.equal(await whoAnswers(await cluster.webPort('rotated'), 'app.test'), 'a');
    assert.equal(await Promise.race([node.child.exited, 'running']), 'running');
  });

  it('refuses a controller whose certificate is not issued by the pinned CA', async () => {
    const good = parseToken(cluster.controller!.token);
    const wrongPin = formatToken({ ...good, caFingerprint: 'ab'.repeat(32) });
    const node = await cluster.startNode('wrong-pin', { token: wrongPin, waitApplied: false });
    await eventually(
      () => node.child.output().includes('BERTH_TOKEN_CA_MISMATCH'),
      10_000,
      () => cluster.logs(),
    );
    const nodes = await cluster.api<{ name: string }[]>('/api/v1/nodes');
    assert.ok(!nodes.some((n) => n.name === 'wrong-pin'));
    assert.ok(
      !cluster.controller!.child.output().includes('"name":"wrong-pin"'),
      'the node never said hello',
    );
  });

  it('rejects a malformed token before dialing, with its code', async () => {
    const child = cluster.group.berth('garbage', [
      'proxy',
      '--join',
      'not-a-token',
      '--data-dir',
      `${cluster.dir}/g`,
    ]);
    assert.equal(await child.exited, 1);
    assert.match(child.output(), /BERTH_TOKEN_MALFORMED/);
  });
});
