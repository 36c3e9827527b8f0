import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeStats } from '@berth/protocol';
import { mergeNodeStats } from '../src/observability/merge-node-stats.js';

const a: NodeStats = {
  at: 1000,
  openConnections: 3,
  requests: [
    { router: 'web', service: 'app', statusClass: '2xx', count: 10 },
    { router: 'web', service: 'app', statusClass: '5xx', count: 1 },
  ],
  servers: [
    { service: 'app', url: 'http://10.0.0.1', status: 'up', since: 100 },
    { service: 'app', url: 'http://10.0.0.2', status: 'up', since: 100 },
  ],
};
const b: NodeStats = {
  at: 1500,
  openConnections: 2,
  requests: [{ router: 'web', service: 'app', statusClass: '2xx', count: 7 }],
  servers: [
    { service: 'app', url: 'http://10.0.0.1', status: 'up', since: 50 },
    { service: 'app', url: 'http://10.0.0.2', status: 'down', since: 900 },
  ],
};

describe('merging worker stats into one node report', () => {
  it('adds up requests and connections, and reports each server at its worst', () => {
    const m = mergeNodeStats([a, b]);
    assert.equal(m.at, 1500);
    assert.equal(m.openConnections, 5);
    assert.deepEqual(m.requests.map((r) => `${r.statusClass}:${r.count}`).sort(), ['2xx:17', '5xx:1']);
    const byUrl = Object.fromEntries(m.servers.map((s) => [s.url, s]));
    assert.equal(byUrl['http://10.0.0.2']?.status, 'down');
    assert.equal(byUrl['http://10.0.0.2']?.since, 900);
    assert.equal(byUrl['http://10.0.0.1']?.status, 'up');
    assert.equal(byUrl['http://10.0.0.1']?.since, 50, 'up since the earliest worker saw it up');
  });

  it('never mutates what the workers sent', () => {
    mergeNodeStats([a, b]);
    assert.equal(a.requests[0]?.count, 10);
  });

  it('reports an idle node when no worker answered', () => {
    assert.deepEqual(
      mergeNodeStats([], () => 42),
      { at: 42, servers: [], requests: [], openConnections: 0 },
    );
  });
});
