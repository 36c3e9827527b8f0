// BERTH_ACME_TIMING: the ACME scheduler's knobs as JSON, checked before the controller starts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAcmeTiming } from '../src/commands/controller.js';
import { CliError } from '../src/output.js';

const badFlag = (pattern: RegExp) => (err: unknown) =>
  err instanceof CliError && err.code === 'BERTH_CLI_BAD_FLAG' && pattern.test(err.message);

describe('BERTH_ACME_TIMING', () => {
  it('is nothing when unset or blank', () => {
    assert.equal(parseAcmeTiming(undefined), undefined);
    assert.equal(parseAcmeTiming(''), undefined);
    assert.equal(parseAcmeTiming('  \n'), undefined);
  });

  it('takes the known knobs in milliseconds, 0 included', () => {
    assert.deepEqual(
      parseAcmeTiming(
        '{"minRenewalGapMs": 3000, "maxJitterMs": 0, "minRetryMs": 1000, "presentTimeoutMs": 5000}',
      ),
      { minRenewalGapMs: 3000, maxJitterMs: 0, minRetryMs: 1000, presentTimeoutMs: 5000 },
    );
    assert.deepEqual(parseAcmeTiming('{}'), {});
    // Only presentTimeoutMs is a timer delay; a long renewal gap is fine.
    assert.deepEqual(parseAcmeTiming('{"minRenewalGapMs": 8640000000}'), { minRenewalGapMs: 8_640_000_000 });
  });

  it('refuses what is not JSON, not an object, an unknown key or a bad value with BERTH_CLI_BAD_FLAG', () => {
    assert.throws(() => parseAcmeTiming('{minRetryMs: 1}'), badFlag(/is not JSON/));
    for (const text of ['[]', 'null', '42', '"x"'])
      assert.throws(() => parseAcmeTiming(text), badFlag(/must be a JSON object/), text);
    assert.throws(
      () => parseAcmeTiming('{"minRetryMS": 1}'),
      badFlag(
        /unknown key "minRetryMS" \(known: minRenewalGapMs, maxJitterMs, minRetryMs, presentTimeoutMs\)/,
      ),
    );
    for (const value of ['-1', '"1000"', 'null', '1e400', 'true', '{}'])
      assert.throws(
        () => parseAcmeTiming(`{"minRetryMs": ${value}}`),
        badFlag(/BERTH_ACME_TIMING\.minRetryMs must be a number of milliseconds ≥ 0/),
        value,
      );
  });

  it('refuses a presentTimeoutMs setTimeout cannot wait for (it would fire at once)', () => {
    assert.deepEqual(parseAcmeTiming('{"presentTimeoutMs": 2147483647}'), { presentTimeoutMs: 2 ** 31 - 1 });
    assert.throws(
      () => parseAcmeTiming('{"presentTimeoutMs": 2147483648}'),
      badFlag(/presentTimeoutMs must be at most 2147483647 ms/),
    );
  });
});
