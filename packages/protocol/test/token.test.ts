import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatToken, newSecret, ProtocolError, parseToken, secretsEqual } from '../src/index.js';

const fp = 'a1'.repeat(32);

describe('join tokens', () => {
  it('round-trips URL, CA fingerprint and secret', () => {
    const t = { url: 'wss://10.1.2.3:7443', caFingerprint: fp, secret: newSecret() };
    const text = formatToken(t);
    assert.match(text, /^berth1\./);
    assert.deepEqual(parseToken(text), t);
    assert.deepEqual(parseToken(`  ${text}\n`), t, 'surrounding whitespace from copy-paste is fine');
  });

  it('makes a new 256-bit secret each time', () => {
    const a = newSecret();
    assert.notEqual(a, newSecret());
    assert.equal(Buffer.from(a, 'base64url').length, 32);
  });

  it('refuses malformed tokens with BERTH_TOKEN_MALFORMED and never echoes the secret', () => {
    const secret = newSecret();
    const url64 = Buffer.from('wss://h:1').toString('base64url');
    const bad = [
      '',
      'garbage',
      `berth2.${url64}.${fp}.${secret}`,
      `berth1.${Buffer.from('https://h:1').toString('base64url')}.${fp}.${secret}`,
      `berth1.${url64}.${fp.slice(2)}.${secret}`,
      `berth1.${url64}.${fp}.short`,
      `berth1.${Buffer.from('not a url').toString('base64url')}.${fp}.${secret}`,
    ];
    for (const text of bad) {
      assert.throws(
        () => parseToken(text),
        (err: unknown) =>
          err instanceof ProtocolError &&
          err.code === 'BERTH_TOKEN_MALFORMED' &&
          !err.message.includes(secret),
        text,
      );
    }
  });

  it('compares secrets in constant time', () => {
    assert.equal(secretsEqual('abc', 'abc'), true);
    assert.equal(secretsEqual('abc', 'abd'), false);
    assert.equal(secretsEqual('abc', 'abcd'), false);
  });
});
