import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTcpRule, parseTcpRule } from '../src/index.js';
import type { ConnectionView } from '../src/rule/types.js';

function compiled(rule: string) {
  const parsed = parseTcpRule(rule);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  return compileTcpRule(parsed.ast);
}

const tls = (serverName: string, alpn: string[] = [], clientIp = '10.0.0.1'): ConnectionView => ({
  serverName,
  alpn,
  clientIp,
  tls: true,
});
const plain = (clientIp = '10.0.0.1'): ConnectionView => ({ serverName: '', alpn: [], clientIp, tls: false });

describe('TCP rules', () => {
  it('matches HostSNI by exact name, case-insensitively, and binds the rule to it', () => {
    const rule = compiled('HostSNI(`Git.Example.com`)');
    assert.equal(rule.match(tls('git.example.com')), true);
    assert.equal(rule.match(tls('other.example.com')), false);
    assert.equal(rule.match(plain()), false);
    assert.deepEqual(rule.hosts, ['git.example.com']);
    assert.equal(rule.catchAll, false);
  });

  it('treats HostSNI(`*`) as a catch-all for TLS and plain connections', () => {
    const rule = compiled('HostSNI(`*`)');
    assert.equal(rule.match(tls('x.test')), true);
    assert.equal(rule.match(plain()), true);
    assert.equal(rule.catchAll, true);
    assert.equal(rule.hosts, null);
  });

  it('combines HostSNIRegexp, ClientIP and ALPN with the usual operators', () => {
    const rule = compiled('HostSNIRegexp(`^.+\\.example\\.com$`) && (ClientIP(`10.0.0.0/8`) || ALPN(`h2`))');
    assert.equal(rule.match(tls('a.example.com', [], '10.1.2.3')), true);
    assert.equal(rule.match(tls('a.example.com', ['h2'], '192.0.2.1')), true);
    assert.equal(rule.match(tls('a.example.com', ['http/1.1'], '192.0.2.1')), false);
    assert.equal(rule.match(tls('example.org', ['h2'], '10.1.2.3')), false);
    assert.equal(rule.match(plain('10.1.2.3')), false, 'a regexp on the SNI never matches plain TCP');
  });

  it('refuses HTTP matchers and ALPN(acme-tls/1) with the column', () => {
    const host = parseTcpRule('HostSNI(`a.test`) && Host(`a.test`)');
    assert.equal(host.ok, false);
    assert.match(host.ok ? '' : host.error.message, /unknown matcher 'Host' at column 22.*HostSNI/);
    const acme = parseTcpRule('ALPN(`acme-tls/1`)');
    assert.equal(acme.ok, false);
    assert.match(acme.ok ? '' : acme.error.message, /acme-tls\/1/);
  });

  it('refuses a bad CIDR and a wildcard in HostSNI', () => {
    assert.equal(parseTcpRule('ClientIP(`10.0.0.0/33`)').ok, false);
    const wild = parseTcpRule('HostSNI(`*.example.com`)');
    assert.equal(wild.ok, false);
    assert.match(wild.ok ? '' : wild.error.message, /HostSNI/);
  });
});
