// Tests for the node → controller `stats` message on the wire.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFrame, encodeMessage, type StatsMessage } from '../src/index.js';

const stats: StatsMessage = {
  type: 'stats',
  at: 1_700_000_000_000,
  servers: [
    { service: 'api', url: 'http://10.0.0.1:8080', status: 'up', since: 1_699_999_000_000 },
    { service: 'api', url: 'http://10.0.0.2:8080', status: 'down', since: 1_699_999_500_000 },
    { service: 'web', url: 'http://10.0.0.3', status: 'ejected', since: 1_699_999_900_000 },
  ],
  requests: [
    { router: 'api', service: 'api', statusClass: '2xx', count: 120 },
    { router: '', service: '', statusClass: '4xx', count: 3 },
  ],
  openConnections: 7,
};

describe('the stats message', () => {
  it('round-trips through the text codec unchanged', () => {
    assert.deepEqual(decodeFrame(encodeMessage(stats), false), { ok: true, message: stats });
  });

  it('round-trips with no servers and no requests', () => {
    const empty: StatsMessage = { type: 'stats', at: 1, servers: [], requests: [], openConnections: 0 };
    assert.deepEqual(decodeFrame(encodeMessage(empty), false), { ok: true, message: empty });
  });

  it('is refused with a stable code when a field is malformed', () => {
    const bad: unknown[] = [
      { ...stats, at: -1 },
      { ...stats, openConnections: 1.5 },
      { ...stats, servers: [{ service: 'a', url: 'u', status: 'sick', since: 1 }] },
      { ...stats, servers: [{ service: 'a', url: 'u', status: 'up' }] },
      { ...stats, servers: 'none' },
      { ...stats, requests: [{ router: 'r', service: 's', statusClass: '6xx', count: 1 }] },
      { ...stats, requests: [{ router: 'r', service: 's', statusClass: '2xx', count: -2 }] },
      { ...stats, requests: [{ router: 1, service: 's', statusClass: '2xx', count: 2 }] },
      { type: 'stats' },
    ];
    for (const value of bad) {
      const decoded = decodeFrame(JSON.stringify(value), false);
      assert.equal(decoded.ok, false, JSON.stringify(value));
      if (!decoded.ok) {
        assert.equal(decoded.code, 'BERTH_PROTOCOL_BAD_FRAME');
        assert.match(decoded.error, /'stats'/);
      }
    }
  });
});
