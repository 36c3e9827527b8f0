import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CidrSet, formatDuration, parseCidr, parseDuration } from '../src/index.js';

describe('durations', () => {
  it('reads Go durations and bare seconds as Traefik does', () => {
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('100us'), 0.1);
    assert.equal(parseDuration(5), 5000);
    assert.equal(parseDuration('42'), 42_000);
    assert.equal(parseDuration('0'), 0);
  });
  it('refuses what is not a duration', () => {
    for (const bad of ['', 'ten', '10x', '-1s', 's', '1s2', ' m'])
      assert.equal(parseDuration(bad), null, bad);
    assert.equal(parseDuration(-1), null);
  });
  it('formats milliseconds back to Go durations', () => {
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(3_600_000), '1h');
  });
});

describe('CIDR sets', () => {
  it('matches IPv4 ranges and single addresses', () => {
    const { set, invalid } = CidrSet.parse(['10.0.0.0/8', '192.168.1.7', '172.16.0.0/12']);
    assert.deepEqual(invalid, []);
    assert.equal(set.contains('10.1.2.3'), true);
    assert.equal(set.contains('11.0.0.1'), false);
    assert.equal(set.contains('192.168.1.7'), true);
    assert.equal(set.contains('192.168.1.8'), false);
    assert.equal(set.contains('172.31.255.255'), true);
    assert.equal(set.contains('172.32.0.0'), false);
  });
  it('matches IPv6 and IPv4-mapped clients', () => {
    const { set } = CidrSet.parse(['2001:db8::/32', '::1', '127.0.0.0/8']);
    assert.equal(set.contains('2001:db8:1::5'), true);
    assert.equal(set.contains('2001:db9::1'), false);
    assert.equal(set.contains('::1'), true);
    assert.equal(set.contains('::ffff:127.0.0.1'), true, 'a dual-stack socket reports IPv4 clients mapped');
    assert.equal(set.contains('fe80::1%eth0'), false);
  });
  it('handles /0 and reports invalid entries', () => {
    const { set, invalid } = CidrSet.parse(['0.0.0.0/0', '10.0.0.0/33', 'nope', '1.2.3.4/x']);
    assert.deepEqual(invalid, ['10.0.0.0/33', 'nope', '1.2.3.4/x']);
    assert.equal(set.contains('8.8.8.8'), true);
    assert.equal(set.contains('::1'), false, 'an IPv4 /0 does not cover IPv6');
    assert.equal(parseCidr('::/0')?.bits, 0);
  });
});
