import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeExpositions } from '../src/observability/merge-expositions.js';

const worker = (n: number) =>
  [
    '# HELP berth_requests_total Requests served.',
    '# TYPE berth_requests_total counter',
    `berth_requests_total{router="api",code="200"} ${n}`,
    '# HELP berth_snapshot_version Applied version.',
    '# TYPE berth_snapshot_version gauge',
    `berth_snapshot_version 7`,
    '# HELP berth_request_duration_seconds Latency.',
    '# TYPE berth_request_duration_seconds histogram',
    `berth_request_duration_seconds_bucket{le="+Inf"} ${n}`,
    `berth_request_duration_seconds_sum 0.5`,
    `berth_request_duration_seconds_count ${n}`,
    '',
  ].join('\n');

describe('merging worker expositions', () => {
  it('keeps each family once, with every worker’s samples labelled by worker', () => {
    const text = mergeExpositions([
      { slot: 1, text: worker(3) },
      { slot: 2, text: worker(5) },
    ]);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.filter((l) => l === '# TYPE berth_requests_total counter').length, 1);
    assert.equal(lines.filter((l) => l.startsWith('# HELP berth_requests_total')).length, 1);
    assert.ok(lines.includes('berth_requests_total{worker="1",router="api",code="200"} 3'));
    assert.ok(lines.includes('berth_requests_total{worker="2",router="api",code="200"} 5'));
    assert.ok(lines.includes('berth_snapshot_version{worker="2"} 7'));
    assert.ok(lines.includes('berth_request_duration_seconds_bucket{worker="1",le="+Inf"} 3'));
    assert.ok(lines.includes('berth_request_duration_seconds_count{worker="2"} 5'));
    // Samples stay under their own family's header.
    const typeAt = lines.indexOf('# TYPE berth_snapshot_version gauge');
    assert.ok(lines.indexOf('berth_snapshot_version{worker="1"} 7') > typeAt);
    assert.ok(
      lines.indexOf('berth_snapshot_version{worker="2"} 7') <
        lines.indexOf('# HELP berth_request_duration_seconds Latency.'),
    );
  });

  it('gives an empty exposition when no worker answered', () => {
    assert.equal(mergeExpositions([]), '');
  });
});
