// The --workers flag of `berth proxy`: a count, 0 for in process, one per core when absent.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { parseWorkers } from '../src/commands/proxy.js';
import { CliError } from '../src/output.js';

describe('the --workers flag', () => {
  it('defaults to one worker per core', () => {
    assert.equal(parseWorkers(undefined), availableParallelism());
  });

  it('takes 0 (serve in process) and positive counts', () => {
    assert.equal(parseWorkers('0'), 0);
    assert.equal(parseWorkers('4'), 4);
  });

  it('refuses anything else with BERTH_CLI_BAD_FLAG', () => {
    for (const bad of ['-1', '1.5', 'two', '', '257', ' 2']) {
      assert.throws(
        () => parseWorkers(bad),
        (err: unknown) => err instanceof CliError && err.code === 'BERTH_CLI_BAD_FLAG',
        bad,
      );
    }
  });
});
