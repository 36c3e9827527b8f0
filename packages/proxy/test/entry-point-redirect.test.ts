// Entry point redirection (web → websecure) on a real listener: host, path and query kept; ACME paths exempt.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { entryPointSettings } from '../src/http/entry-point-settings.js';
import { call } from './support/client.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

function redirecting(url: string, redirections: object) {
  const b = body(
    { app: { rule: 'Host(`app.test`)', service: 'app' } },
    { app: service(url) },
    {
      web: ':80',
      websecure: ':443',
    },
  );
  b.entryPoints['web'] = { address: ':80', http: { redirections: { entryPoint: redirections as never } } };
  return b;
}

describe('entry point redirection', () => {
  it('answers a permanent redirect to https on the target entry point, keeping host, path and query', async () => {
    const backend = await backendFor(cleanups, 'app');
    const plane = planeFor(cleanups, {
      entryPointOverrides: { web: '127.0.0.1:0', websecure: '127.0.0.1:0' },
    });
    const port = await applied(plane, redirecting(backend.url, { to: 'websecure' }));
    const get = await call(port, { host: 'app.test:80', path: '/a/b?x=1&y=%20' });
    assert.equal(get.status, 301);
    assert.equal(get.headers.location, 'https://app.test/a/b?x=1&y=%20');
    const post = await call(port, { host: 'other.test', path: '/form', method: 'POST', body: 'x' });
    assert.equal(post.status, 308, 'a permanent redirect of a POST keeps the method');
    assert.equal(post.headers.location, 'https://other.test/form');
    assert.equal(backend.seen.length, 0, 'nothing reached the backend');
  });

  it('keeps a non-default target port and lets ACME HTTP-01 challenge paths through to routing', async () => {
    const backend = await backendFor(cleanups, 'acme');
    const plane = planeFor(cleanups, {
      entryPointOverrides: { web: '127.0.0.1:0', websecure: '127.0.0.1:0' },
    });
    const b = redirecting(backend.url, { to: 'websecure', permanent: false });
    b.entryPoints['websecure'] = { address: ':8443' };
    b.http.routers['acme'] = { rule: 'PathPrefix(`/.well-known/acme-challenge/`)', service: 'app' };
    const port = await applied(plane, b);
    const moved = await call(port, { host: 'app.test', path: '/x' });
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.location, 'https://app.test:8443/x');
    const challenge = await call(port, { host: 'app.test', path: '/.well-known/acme-challenge/tok' });
    assert.equal(challenge.status, 200);
    assert.equal(backend.seen.at(-1)?.url, '/.well-known/acme-challenge/tok');
  });

  it('serves routers whose priority is above the configured redirection priority', () => {
    const settings = entryPointSettings(
      { address: ':80', http: { redirections: { entryPoint: { to: ':443', priority: 10 } } } },
      {},
    );
    assert.deepEqual(settings.redirect, { scheme: 'https', port: '443', permanent: true, priority: 10 });
    assert.equal(entryPointSettings({ address: ':80' }).redirect, null);
    assert.equal(entryPointSettings({ address: ':443' }).h2MaxConcurrentStreams, 250);
    assert.equal(
      entryPointSettings({ address: ':443', http2: { maxConcurrentStreams: 32 } }).h2MaxConcurrentStreams,
      32,
    );
  });
});
