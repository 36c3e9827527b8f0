// Specifies what compiled rules match and which hosts they report for indexing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CompiledRule, compileRule } from '../src/index.js';
import { parsed, request } from './helpers.js';

const compile = (rule: string): CompiledRule => compileRule(parsed(rule));
const matches = (rule: string, overrides: Parameters<typeof request>[0]): boolean =>
  compile(rule).match(request(overrides));

describe('compileRule matching', () => {
  it('matches Host case-insensitively against the lower-case request host', () => {
    assert.equal(matches('Host(`Example.COM`)', { host: 'example.com' }), true);
    assert.equal(matches('Host(`example.com`)', { host: 'other.com' }), false);
  });

  it('treats a trailing dot as the same host, in the rule or in the request', () => {
    assert.equal(matches('Host(`example.com.`)', { host: 'example.com' }), true);
    assert.equal(matches('Host(`example.com`)', { host: 'example.com.' }), true);
  });

  it('matches an IPv6 literal with or without brackets against the bracket-less request host', () => {
    assert.equal(matches('Host(`[::1]`)', { host: '::1' }), true);
    assert.equal(matches('Host(`::1`)', { host: '::1' }), true);
    assert.deepEqual(compile('Host(`[::1]`)').hosts, ['::1']);
  });

  it('matches Host exactly, not as a suffix', () => {
    assert.equal(matches('Host(`example.com`)', { host: 'www.example.com' }), false);
  });

  it('reads several Host arguments as alternatives', () => {
    const rule = compile('Host(`a.com`, `b.com`)');
    assert.equal(rule.match(request({ host: 'a.com' })), true);
    assert.equal(rule.match(request({ host: 'b.com' })), true);
    assert.equal(rule.match(request({ host: 'c.com' })), false);
  });

  it('matches Path only on the exact path', () => {
    assert.equal(matches('Path(`/api`)', { path: '/api' }), true);
    assert.equal(matches('Path(`/api`)', { path: '/api/' }), false);
    assert.equal(matches('Path(`/api`)', { path: '/API' }), false);
  });

  it('matches PathPrefix as a plain string prefix, like Traefik', () => {
    assert.equal(matches('PathPrefix(`/api`)', { path: '/api' }), true);
    assert.equal(matches('PathPrefix(`/api`)', { path: '/api/v1' }), true);
    assert.equal(matches('PathPrefix(`/api`)', { path: '/apiary' }), true);
    assert.equal(matches('PathPrefix(`/api`)', { path: '/ap' }), false);
  });

  it('combines matchers with &&, || and ! as boolean logic', () => {
    const rule = compile(
      'Host(`a.com`) && (PathPrefix(`/api`) || Path(`/health`)) && !PathPrefix(`/api/internal`)',
    );
    assert.equal(rule.match(request({ host: 'a.com', path: '/api/users' })), true);
    assert.equal(rule.match(request({ host: 'a.com', path: '/health' })), true);
    assert.equal(rule.match(request({ host: 'a.com', path: '/api/internal/x' })), false);
    assert.equal(rule.match(request({ host: 'b.com', path: '/api/users' })), false);
    assert.equal(rule.match(request({ host: 'a.com', path: '/' })), false);
  });

  it('handles a chain of thousands of alternatives without deep recursion', () => {
    const rule = Array.from({ length: 5000 }, (_, i) => `Path(\`/p${i}\`)`).join(' || ');
    const compiled = compile(rule);
    assert.equal(compiled.match(request({ path: '/p4999' })), true);
    assert.equal(compiled.match(request({ path: '/p5000' })), false);
  });

  it('throws on a hand-built tree naming a matcher that does not exist', () => {
    assert.throws(
      () => compileRule({ kind: 'call', name: 'Nope', args: [], column: 1 }),
      /unknown matcher 'Nope'/,
    );
  });
});

describe('compileRule hosts', () => {
  const hostsOf = (rule: string): string[] | null => compile(rule).hosts;

  it('lists the hosts of a Host matcher, lower-cased, without trailing dots and de-duplicated', () => {
    assert.deepEqual(hostsOf('Host(`A.com.`, `b.com`, `a.com`)'), ['a.com', 'b.com']);
  });

  it('is null for a rule with no Host matcher', () => {
    assert.equal(hostsOf('PathPrefix(`/`)'), null);
  });

  it('binds A && B to the bound side', () => {
    assert.deepEqual(hostsOf('Host(`a.com`) && Path(`/x`)'), ['a.com']);
    assert.deepEqual(hostsOf('Path(`/x`) && Host(`a.com`)'), ['a.com']);
  });

  it('binds A && B to the intersection when both sides are bound, which may be empty', () => {
    assert.deepEqual(hostsOf('Host(`a.com`, `b.com`) && Host(`b.com`, `c.com`)'), ['b.com']);
    assert.deepEqual(hostsOf('Host(`a.com`) && Host(`b.com`)'), []);
  });

  it('binds A || B to the union only when both sides are bound', () => {
    assert.deepEqual(hostsOf('Host(`a.com`) || Host(`b.com`) && Path(`/x`)'), ['a.com', 'b.com']);
    assert.equal(hostsOf('Host(`a.com`) || Path(`/x`)'), null);
  });

  it('is null under a negation, since !Host can match any other host', () => {
    assert.equal(hostsOf('!Host(`a.com`)'), null);
    assert.deepEqual(hostsOf('Host(`a.com`) && !Host(`b.com`)'), ['a.com']);
  });

  it('carries a bound group through parentheses', () => {
    assert.deepEqual(hostsOf('(Host(`a.com`) || Host(`b.com`)) && PathPrefix(`/api`)'), ['a.com', 'b.com']);
  });
});
