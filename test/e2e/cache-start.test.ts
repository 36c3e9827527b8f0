// Static stability through real processes: a node restarted while its controller is down answers from its cached snapshot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, freePort, startBackend, whoAnswers } from '../helpers/http.js';

describe('a node restarted alone', () => {
  let cluster: Cluster;
  let backend: Backend;

  before(async () => {
    backend = await startBackend('a');
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml([backend.url]));
    await cluster.startController();
    // Applies from the controller and writes its cache; then both stop.
    await cluster.startNode('node-1');
    await cluster.stopNode('node-1');
    await cluster.killController('SIGTERM');
  });

  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  // Two workers is the default (one per core) on the 2-core machines this runs on.
  for (const workers of [0, 2]) {
    it(`answers 200 from its cached snapshot with the controller down (--workers ${workers})`, async () => {
      const port = await freePort();
      const spawned = performance.now();
      await cluster.startNode('node-1', {
        waitApplied: false,
        workers,
        extraArgs: ['--entrypoint', `web=127.0.0.1:${port}`],
      });
      const answer = await eventually(
        () => whoAnswers(port, 'app.test').catch(() => null),
        20_000,
        () => cluster.logs(),
      );
      const elapsedMs = Math.round(performance.now() - spawned);
      assert.equal(answer, 'a');
      // A figure for the log, not an assertion: `npm run bench:cache-start` measures it properly.
      console.log(`# spawn → first 200 from the cache (--workers ${workers}): ${elapsedMs} ms`);
      const status = await cluster.nodeStatus('node-1', (s) => s.appliedVersion > 0);
      assert.equal(status.fromCache, true);
      assert.ok(status.listeners.some((l) => l.entryPoint === 'web' && l.address === `127.0.0.1:${port}`));
      await cluster.stopNode('node-1');
    });
  }
});
