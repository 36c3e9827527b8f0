// A node serving routers whose snapshot says `ruleSyntax: v2`, over real loopback sockets.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { DataPlane } from '../src/data-plane.js';
import { type Backend, startBackend } from './support/backend.js';
import { call } from './support/client.js';
import { body, service } from './support/snapshot.js';

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function backend(name: string): Promise<Backend> {
  const b = await startBackend(name);
  cleanups.push(() => b.close());
  return b;
}

test('routes v2 rules (templates, Headers, several hosts, Query pairs) as Traefik v2 did', async () => {
  const catchAll = await backend('catch-all');
  const bypass = await backend('bypass');
  const api = await backend('api');
  const sub = await backend('sub');
  const p = new DataPlane({ logger, entryPointOverrides: { web: '127.0.0.1:0' }, closeDrainMs: 100 });
  cleanups.push(() => p.close());
  const result = await p.apply(
    body(
      {
        // Files 17/18, 32, 02 and 54 of the corpus, in v2 syntax; the catch-all has the lowest priority.
        any: { rule: 'HostRegexp(`{any:.+}`)', service: 'catchAll', ruleSyntax: 'v2', priority: 1 },
        bypass: {
          rule: 'Host(`radarr.example.com`) && Headers(`x-bypass`, `key`)',
          service: 'bypass',
          ruleSyntax: 'v2',
        },
        api: {
          rule: 'Host(`a.example.com`,`www.a.example.com`) && Query(`v=2`)',
          service: 'api',
          ruleSyntax: 'v2',
        },
        sub: { rule: 'HostRegexp(`{subdomain:[a-z]+}.traefik.com`)', service: 'sub', ruleSyntax: 'v2' },
      },
      {
        catchAll: service(catchAll.url),
        bypass: service(bypass.url),
        api: service(api.url),
        sub: service(sub.url),
      },
    ),
  );
  if (!result.ok) assert.fail(`${result.code}: ${result.error}`);
  const address = p.listeners().find((l) => l.entryPoint === 'web')?.address ?? '';
  const port = Number(address.slice(address.lastIndexOf(':') + 1));

  const reach = async (host: string, path = '/', headers: Record<string, string> = {}) =>
    (await call(port, { host, path, headers })).body;
  assert.equal(await reach('radarr.example.com', '/', { 'x-bypass': 'key' }), 'bypass');
  assert.equal(await reach('radarr.example.com'), 'catch-all');
  assert.equal(await reach('www.a.example.com', '/?v=2'), 'api');
  assert.equal(await reach('a.example.com', '/?v=3'), 'catch-all');
  assert.equal(await reach('Foo.traefik.com'), 'sub');
  assert.equal(await reach('a.b.traefik.com'), 'catch-all');
  assert.equal(await reach('anything.test'), 'catch-all');
});
