// Unit tests for the pure compiler: merging, conflicts, per-router checks and determinism.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamicConfig, HttpRouter, HttpService, StaticConfig } from '@berth/config';
import { hashBody, SNAPSHOT_SCHEMA } from '@berth/protocol';
import { compile } from '../src/compiler/compile.js';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

const statics: StaticConfig = { entryPoints: { web: { address: ':80' }, websecure: { address: ':443' } } };

function svc(...urls: string[]): HttpService {
  return { loadBalancer: { servers: urls.map((url) => ({ url })) } };
}

function part(
  sourceKey: string,
  routers: Record<string, HttpRouter> = {},
  services: Record<string, HttpService> = {},
): ProviderPart {
  const config: DynamicConfig = { http: { routers, services } };
  return { sourceKey, config, errors: [] };
}

describe('compile', () => {
  it('reports where each router answers only over TLS, as the nodes route', () => {
    const tlsStatics: StaticConfig = {
      entryPoints: { web: { address: ':80' }, secure: { address: ':443', http: { tls: {} } } },
    };
    const result = compile(
      [
        part(
          '/a.yml',
          {
            plain: { rule: 'Host(`a.test`)', service: 'api' },
            own: { rule: 'Host(`b.test`)', service: 'api', tls: {} },
          },
          { api: svc('http://10.0.0.1:8080') },
        ),
      ],
      tlsStatics,
    );
    const of = (name: string) => result.routers.find((r) => r.name === `${name}@file`);
    // No tls of its own: plain HTTP on `web`, TLS only on `secure` (the entry point's http.tls).
    assert.deepEqual(of('plain')?.entryPoints, ['secure', 'web']);
    assert.deepEqual(of('plain')?.tlsEntryPoints, ['secure']);
    assert.deepEqual(of('own')?.tlsEntryPoints, ['secure', 'web']);
    const bare = compile([part('/b.yml', { r: { rule: 'Host(`c.test`)', service: 'api' } })], statics);
    assert.deepEqual(bare.routers[0]?.tlsEntryPoints, []);
  });

  it('merges routers and services from several parts into one body', () => {
    const a = part('/a.yml', { api: { rule: 'Host(`api.test`)', service: 'api', entryPoints: ['web'] } });
    const b = part('/b.yml', {}, { api: svc('http://10.0.0.1:8080') });
    const result = compile([a, b], statics);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.body, {
      schema: SNAPSHOT_SCHEMA,
      entryPoints: statics.entryPoints,
      http: {
        routers: { 'api@file': { rule: 'Host(`api.test`)', service: 'api@file', entryPoints: ['web'] } },
        services: { 'api@file': svc('http://10.0.0.1:8080') },
      },
    });
    assert.equal(result.routers.length, 1);
    assert.equal(result.routers[0]?.status, 'enabled');
    assert.equal(result.routers[0]?.priority, 'Host(`api.test`)'.length);
    assert.deepEqual(result.services[0]?.usedBy, ['api@file']);
    assert.deepEqual(result.services[0]?.servers, ['http://10.0.0.1:8080']);
  });

  it('merges identical definitions from two sources silently', () => {
    const r = { rule: 'PathPrefix(`/`)', service: 's' };
    const result = compile(
      [
        part('/a.yml', { r }, { s: svc('http://a:1') }),
        part('/b.yml', { r: { ...r } }, { s: svc('http://a:1') }),
      ],
      statics,
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(Object.keys(result.body.http.routers), ['r@file']);
  });

  it('drops a router defined differently by two sources and names both', () => {
    const a = part('/a.yml', { r: { rule: 'Host(`a`)', service: 's' } }, { s: svc('http://a:1') });
    const b = part('/b.yml', { r: { rule: 'Host(`b`)', service: 's' } });
    b.sources = {
      routers: { r: { provider: 'file', origin: '/b.yml', line: 7 } },
      services: {},
    };
    const result = compile([a, b], statics);
    assert.deepEqual(result.body.http.routers, {});
    assert.equal(result.errors.length, 1);
    const [error] = result.errors;
    assert.equal(error?.code, ErrorCodes.CONFIG_CONFLICT);
    assert.equal(error?.path, 'http.routers.r@file');
    assert.match(error?.message ?? '', /\/a\.yml/);
    assert.match(error?.message ?? '', /\/b\.yml:7/);
    const status = result.routers.find((s) => s.name === 'r@file');
    assert.equal(status?.status, 'disabled');
    assert.equal(status?.errors[0]?.code, ErrorCodes.CONFIG_CONFLICT);
    // The service is fine on its own, but no enabled router uses it.
    assert.deepEqual(result.services[0]?.usedBy, []);
  });

  it('drops a conflicting service and the routers that need it', () => {
    const a = part('/a.yml', { r: { rule: 'Host(`a`)', service: 's' } }, { s: svc('http://a:1') });
    const b = part('/b.yml', {}, { s: svc('http://b:1') });
    const result = compile([a, b], statics);
    assert.deepEqual(result.body.http, { routers: {}, services: {} });
    assert.deepEqual(
      result.errors.map((e) => e.code),
      [ErrorCodes.CONFIG_CONFLICT, ErrorCodes.CONFIG_SERVICE_MISSING],
    );
    assert.match(result.errors[1]?.message ?? '', /conflict/);
    assert.equal(result.services[0]?.status, 'disabled');
  });

  it('drops a router whose service is missing, alone', () => {
    const result = compile(
      [
        part(
          '/a.yml',
          {
            good: { rule: 'Host(`a`)', service: 's' },
            bad: { rule: 'Host(`b`)', service: 'nope' },
          },
          { s: svc('http://a:1') },
        ),
      ],
      statics,
    );
    assert.deepEqual(Object.keys(result.body.http.routers), ['good@file']);
    assert.equal(result.errors.length, 1);
    assert.equal(result.errors[0]?.code, ErrorCodes.CONFIG_SERVICE_MISSING);
    assert.equal(result.errors[0]?.path, 'http.routers.bad@file.service');
    assert.deepEqual(
      result.routers.map((r) => [r.name, r.status]),
      [
        ['bad@file', 'disabled'],
        ['good@file', 'enabled'],
      ],
    );
  });

  it('reports a bad rule with its code and column', () => {
    const result = compile(
      [part('/a.yml', { r: { rule: 'Host(`a`) && Nope(`x`)', service: 's' } }, { s: svc('http://a:1') })],
      statics,
    );
    assert.deepEqual(result.body.http.routers, {});
    const [error] = result.errors;
    assert.match(error?.code ?? '', /^BERTH_CONFIG_RULE_/);
    assert.equal(error?.path, 'http.routers.r@file.rule');
    assert.match(error?.message ?? '', /column 14/);
  });

  it('reports a rule syntax error', () => {
    const result = compile(
      [part('/a.yml', { r: { rule: 'Host(`a`', service: 's' } }, { s: svc('http://a:1') })],
      statics,
    );
    assert.equal(result.errors[0]?.code, ErrorCodes.CONFIG_RULE_SYNTAX);
    assert.match(result.errors[0]?.message ?? '', /column \d+/);
  });

  it('rejects an entry point the static configuration does not declare', () => {
    const result = compile(
      [
        part(
          '/a.yml',
          { r: { rule: 'Host(`a`)', service: 's', entryPoints: ['web', 'admin'] } },
          { s: svc('http://a:1') },
        ),
      ],
      statics,
    );
    assert.deepEqual(result.body.http.routers, {});
    assert.equal(result.errors[0]?.code, ErrorCodes.CONFIG_ENTRYPOINT_MISSING);
    assert.match(result.errors[0]?.message ?? '', /"admin"/);
  });

  it('writes every entry point into routers that omit them', () => {
    const result = compile(
      [
        part(
          '/a.yml',
          {
            all: { rule: 'Host(`a`)', service: 's' },
            none: { rule: 'Host(`b`)', service: 's', entryPoints: [] },
          },
          { s: svc('http://a:1') },
        ),
      ],
      statics,
    );
    assert.deepEqual(result.body.http.routers['all@file']?.entryPoints, ['web', 'websecure']);
    assert.deepEqual(result.body.http.routers['none@file']?.entryPoints, ['web', 'websecure']);
    assert.deepEqual(result.routers[0]?.entryPoints, ['web', 'websecure']);
  });

  it('fails routers when no entry point is declared at all', () => {
    const result = compile(
      [part('/a.yml', { r: { rule: 'Host(`a`)', service: 's' } }, { s: svc('http://a:1') })],
      { entryPoints: {} },
    );
    assert.equal(result.errors[0]?.code, ErrorCodes.CONFIG_ENTRYPOINT_MISSING);
  });

  it('uses an explicit priority over the rule length', () => {
    const result = compile(
      [part('/a.yml', { r: { rule: 'Host(`a`)', service: 's', priority: 42 } }, { s: svc('http://a:1') })],
      statics,
    );
    assert.equal(result.routers[0]?.priority, 42);
  });

  it('passes provider errors through and attaches them to the element they name', () => {
    const p = part('/a.yml', { r: { rule: 'Host(`a`)', service: 's' } }, { s: svc('http://a:1') });
    p.errors = [
      {
        code: 'BERTH_CONFIG_INVALID_URL',
        path: 'http.services.s.loadBalancer.servers.1.url',
        message: 'bad url',
      },
      { code: 'BERTH_CONFIG_UNKNOWN_FIELD', path: 'http.routers.rr.foo', message: 'other router' },
    ];
    const result = compile([p], statics);
    assert.equal(result.errors.length, 2);
    assert.equal(result.services[0]?.errors.length, 1);
    assert.equal(result.services[0]?.status, 'enabled');
    assert.equal(result.routers[0]?.errors.length, 0);
  });

  it('is deterministic whatever order parts and names come in', () => {
    const a = part(
      '/a.yml',
      {
        z: { rule: 'Host(`z`)', service: 's', entryPoints: ['websecure', 'web'] },
        y: { rule: 'Host(`y`)', service: 't' },
      },
      { s: svc('http://a:1') },
    );
    const b = part(
      '/b.yml',
      { x: { rule: 'Host(`x`', service: 's' } },
      { t: svc('http://b:1'), s: svc('http://b:9') },
    );
    const c = part('/c.yml', { w: { rule: 'Host(`w`)', service: 'missing' } });
    const one = compile([a, b, c], statics);
    const two = compile([c, b, a], statics);
    assert.equal(hashBody(one.body), hashBody(two.body));
    assert.deepEqual(one.errors, two.errors);
    assert.deepEqual(one.routers, two.routers);
    assert.deepEqual(one.services, two.services);
    assert.deepEqual(Object.keys(one.body.http.routers), ['y@file']);
    assert.deepEqual(one.body.http.routers['y@file']?.entryPoints, ['web', 'websecure']);
  });
});
