// Done when 5: a YAML syntax error, a bad rule and a missing service break only themselves, and the API says where.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, get, startBackend, whoAnswers } from '../helpers/http.js';

interface ApiError {
  code: string;
  path: string;
  message: string;
  source?: { provider: string; origin: string; line?: number };
}

const service = (name: string, b: Backend) =>
  `  services:\n    ${name}:\n      loadBalancer:\n        servers:\n          - url: ${b.url}\n`;

describe('bad configuration', () => {
  let cluster: Cluster;
  let a: Backend;
  let b: Backend;
  let port: number;

  before(async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    cluster = await Cluster.create();
    await cluster.writeDynamic(
      'good.yml',
      `http:\n  routers:\n    good:\n      rule: Host(\`good.test\`)\n      service: good\n    badrule:\n      rule: Host(\`bad.test\`) && (PathPrefix(\`/x\`)\n      service: good\n    orphan:\n      rule: Host(\`orphan.test\`)\n      service: nope\n${service('good', a)}`,
    );
    await cluster.writeDynamic(
      'later.yml',
      `http:\n  routers:\n    later:\n      rule: Host(\`later.test\`)\n      service: later\n${service('later', b)}`,
    );
    await cluster.startController();
    await cluster.startNode('node-1');
    port = await cluster.webPort('node-1');
  });

  after(async () => {
    await cluster?.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  it('drops a router with a bad rule alone and reports file, router and column', async () => {
    assert.equal(await whoAnswers(port, 'good.test'), 'a');
    assert.equal((await get(port, 'bad.test', '/x')).status, 404);
    const errors = await cluster.api<ApiError[]>('/api/v1/errors');
    const e = errors.find((x) => x.path === 'http.routers.badrule.rule');
    assert.ok(e, JSON.stringify(errors));
    assert.equal(e.code, 'BERTH_CONFIG_RULE_SYNTAX');
    assert.match(e.message, /column \d+/);
    assert.match(e.source?.origin ?? '', /good\.yml$/);
    assert.equal(e.source?.line, 7);
  });

  it('drops a router naming a missing service and names the service', async () => {
    assert.equal((await get(port, 'orphan.test')).status, 404);
    const errors = await cluster.api<ApiError[]>('/api/v1/errors');
    const e = errors.find((x) => x.code === 'BERTH_CONFIG_SERVICE_MISSING');
    assert.ok(e, JSON.stringify(errors));
    assert.match(e.path, /http\.routers\.orphan/);
    assert.match(e.message, /nope/);
    assert.match(e.source?.origin ?? '', /good\.yml$/);
    const routers = await cluster.api<{ name: string; status: string }[]>('/api/v1/routers');
    assert.equal(routers.find((r) => r.name === 'orphan@file')?.status, 'disabled');
    assert.equal(routers.find((r) => r.name === 'good@file')?.status, 'enabled');
  });

  it('keeps the last good configuration of a file that stops parsing, and names file and line', async () => {
    const before = await cluster.api<{ version: number }>('/api/v1/snapshot');
    await cluster.writeDynamic('later.yml', 'http:\n  routers:\n    later:\n      rule: [unclosed\n');
    const e = await eventually(
      async () =>
        (await cluster.api<ApiError[]>('/api/v1/errors')).find((x) => x.code === 'BERTH_FILE_PARSE'),
      10_000,
      () => cluster.logs(),
    );
    assert.match(e.source?.origin ?? '', /later\.yml$/);
    assert.equal(typeof e.source?.line, 'number');
    assert.equal(await whoAnswers(port, 'later.test'), 'b', 'the last good routes of the file still serve');
    assert.equal(await whoAnswers(port, 'good.test'), 'a');
    const after = await cluster.api<{ version: number }>('/api/v1/snapshot');
    assert.equal(after.version, before.version, 'nothing new was published');
  });
});
