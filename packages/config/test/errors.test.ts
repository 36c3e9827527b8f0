// Specifies the error catalogue and the ConfigError builder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigErrorCodes, configError } from '../src/index.js';

describe('ConfigErrorCodes', () => {
  it('holds distinct BERTH_CONFIG_ codes, including every rule code parseRule returns', () => {
    const codes = Object.values(ConfigErrorCodes);
    assert.equal(new Set(codes).size, codes.length);
    for (const code of codes) assert.match(code, /^BERTH_CONFIG_[A-Z_]+$/);
    for (const code of [
      'BERTH_CONFIG_RULE_SYNTAX',
      'BERTH_CONFIG_RULE_UNKNOWN_MATCHER',
      'BERTH_CONFIG_RULE_ARGS',
      'BERTH_CONFIG_RULE_NEVER_MATCHES',
    ]) {
      assert.ok((codes as string[]).includes(code), code);
    }
  });
});

describe('configError', () => {
  it('leaves source out entirely when none is given', () => {
    const error = configError(ConfigErrorCodes.REQUIRED, 'http.routers.web.rule', 'rule is required');
    assert.deepEqual(error, {
      code: 'BERTH_CONFIG_REQUIRED',
      path: 'http.routers.web.rule',
      message: 'rule is required',
    });
    assert.equal('source' in error, false);
    assert.equal('source' in configError('X', '', 'm', undefined), false);
  });

  it('attaches a source when one is given', () => {
    const source = { provider: 'file', origin: 'dynamic.yml', line: 4 };
    assert.deepEqual(configError('BERTH_FILE_READ', '', 'cannot read', source).source, source);
  });
});
