// Specifies entry point address parsing and printing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAddress, parseAddress } from '../src/index.js';

describe('parseAddress', () => {
  it('reads the address forms entry points use', () => {
    assert.deepEqual(parseAddress(':8080'), { host: '', port: 8080 });
    assert.deepEqual(parseAddress('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
    assert.deepEqual(parseAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseAddress('[::1]:443'), { host: '::1', port: 443 });
    assert.deepEqual(parseAddress('[::]:65535'), { host: '::', port: 65535 });
    assert.deepEqual(parseAddress('localhost:8080'), { host: 'localhost', port: 8080 });
    assert.deepEqual(parseAddress('[fe80::1%eth0]:80'), { host: 'fe80::1%eth0', port: 80 });
  });

  it('returns null for anything else', () => {
    const invalid = [
      '',
      '8080',
      ':',
      'localhost',
      'localhost:',
      ':65536',
      ':99999999',
      ':-1',
      ':+80',
      ': 80',
      ':80 ',
      ':8o',
      ':80/udp',
      '::1:80',
      '[::1]',
      '[::1:80',
      '[]:80',
      '[example.com]:80',
      'a b:80',
      'http://a:80',
    ];
    for (const address of invalid) assert.equal(parseAddress(address), null, address);
  });
});

describe('formatAddress', () => {
  it('prints all interfaces as :port and brackets IPv6 hosts', () => {
    assert.equal(formatAddress({ host: '', port: 80 }), ':80');
    assert.equal(formatAddress({ host: '10.0.0.1', port: 8080 }), '10.0.0.1:8080');
    assert.equal(formatAddress({ host: '::1', port: 443 }), '[::1]:443');
  });

  it('round-trips through parseAddress', () => {
    for (const address of [':8080', '0.0.0.0:80', '[::1]:443', 'localhost:1']) {
      const parsed = parseAddress(address);
      assert.ok(parsed);
      assert.equal(formatAddress(parsed), address);
    }
  });
});
