// Tests for the expected-status specs of active health checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStatusSpec } from '../src/health/status-spec.js';

function accepted(spec: string | undefined, codes: number[]): number[] {
  const match = parseStatusSpec(spec);
  assert.ok(match, `spec ${spec} parses`);
  return codes.filter((c) => match(c));
}

const SAMPLE = [100, 199, 200, 204, 299, 300, 304, 399, 400, 404, 500, 503];

describe('health check status specs', () => {
  it('accept 2xx and 3xx by default, as Traefik does', () => {
    assert.deepEqual(accepted(undefined, SAMPLE), [200, 204, 299, 300, 304, 399]);
    assert.deepEqual(accepted('  ', SAMPLE), [200, 204, 299, 300, 304, 399]);
  });

  it('accept exactly one code', () => {
    assert.deepEqual(accepted('204', SAMPLE), [204]);
  });

  it('accept ranges and lists', () => {
    assert.deepEqual(accepted('200-299,304', SAMPLE), [200, 204, 299, 304]);
    assert.deepEqual(accepted(' 200 - 204 , 404 ', SAMPLE), [200, 204, 404]);
  });

  it('accept classes', () => {
    assert.deepEqual(accepted('2xx', SAMPLE), [200, 204, 299]);
    assert.deepEqual(accepted('2XX,5xx', SAMPLE), [200, 204, 299, 500, 503]);
  });

  it('refuse malformed specs with null rather than throwing', () => {
    for (const bad of ['abc', '20', '600', '299-200', '2xx-3xx', '200,', '-', '6xx', '200-']) {
      assert.equal(parseStatusSpec(bad), null, bad);
    }
  });
});
