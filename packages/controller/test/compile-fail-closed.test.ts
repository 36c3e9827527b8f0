// Beyond Traefik: a router whose middleware cannot be built stays in the body marked failClosed
// (the nodes answer 503 with the code); one that cannot be placed at all is still dropped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigErrorCodes, type StaticConfig } from '@berth/config';
import { compile } from '../src/compiler/compile.js';
import type { ProviderPart } from '../src/provider/provider-part.js';
import { parseConfigFile } from '../src/provider/yaml-config-file.js';

const statics: StaticConfig = { entryPoints: { web: { address: ':80' } } };

function partOf(yaml: string): ProviderPart {
  const parsed = parseConfigFile(yaml, '/etc/berth/app.yml');
  assert.equal(parsed.kind, 'ok');
  if (parsed.kind !== 'ok') throw new Error('unreachable');
  return {
    sourceKey: '/etc/berth/app.yml',
    config: parsed.config,
    errors: parsed.errors,
    sources: parsed.sources,
  };
}

const services = [
  '  services:',
  '    app:',
  '      loadBalancer:',
  '        servers:',
  '          - url: http://10.0.0.1:80',
];

describe('compile: routers fail closed', () => {
  it('marks a router whose basicAuth has an unusable user with INVALID_HTPASSWD, naming the user line', () => {
    const result = compile(
      [
        partOf(
          [
            'http:',
            '  routers:',
            '    admin:',
            '      rule: Host(`admin.test`)',
            '      service: app',
            '      middlewares: [auth]',
            '  middlewares:',
            '    auth:',
            '      basicAuth:',
            '        users: ["test:/"]',
            ...services,
          ].join('\n'),
        ),
      ],
      statics,
    );
    const router = result.body.http.routers['admin@file'];
    assert.equal(router?.failClosed?.code, ConfigErrorCodes.INVALID_HTPASSWD);
    assert.match(router?.failClosed?.message ?? '', /^router "admin@file": .*users\[0\].*'test'/);
    assert.equal(router?.middlewares, undefined);
    assert.equal(router?.rule, 'Host(`admin.test`)');
    const status = result.routers.find((r) => r.name === 'admin@file');
    assert.equal(status?.failClosed, true);
    assert.match(status?.errors.at(-1)?.message ?? '', /answers 503 \(fails closed\)/);
  });

  it('drops, rather than closes, a router whose rule or entry point is wrong', () => {
    const result = compile(
      [
        partOf(
          [
            'http:',
            '  routers:',
            '    badrule:',
            '      rule: Host(`a.test`',
            '      service: app',
            '      middlewares: [ghost]',
            '    badep:',
            '      rule: Host(`b.test`)',
            '      entryPoints: [nope]',
            '      service: app',
            '      middlewares: [ghost]',
            ...services,
          ].join('\n'),
        ),
      ],
      statics,
    );
    assert.deepEqual(Object.keys(result.body.http.routers), []);
    assert.equal(
      result.routers.some((r) => r.failClosed),
      false,
    );
  });
});
