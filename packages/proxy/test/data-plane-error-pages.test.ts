// The errors middleware in a real DataPlane: failing backends, a real error-page server, the status kept.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { HttpMiddleware } from '@berth/config';
import { call } from './support/client.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

/** An app answering the status its path names (`/status/502`), with a body the client must never see. */
async function failingApp() {
  return backendFor(cleanups, 'app', (req, res) => {
    const status = Number(/^\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
    res.writeHead(status, { 'content-type': 'text/plain', 'x-app': 'yes' });
    res.end(`app body ${status}`);
  });
}

/** An error-page server echoing what it was asked and with which headers. */
async function pageServer(seen: { url: string; host: string | undefined; cookie: string | undefined }[]) {
  return backendFor(cleanups, 'pages', (req, res) => {
    seen.push({ url: req.url ?? '', host: req.headers.host, cookie: req.headers.cookie });
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<h1>page for ${req.url}</h1>`);
  });
}

function snapshot(appUrl: string, pagesUrl: string | null, errors: NonNullable<HttpMiddleware['errors']>) {
  const b = body(
    { app: { rule: 'Host(`app.test`)', service: 'app', middlewares: ['oops'] } },
    {
      app: service(appUrl),
      // A page service with no reachable server, when pagesUrl is null.
      pages: service(pagesUrl ?? 'http://127.0.0.1:1'),
    },
  );
  b.http.middlewares = { oops: { errors } };
  return b;
}

describe('errors middleware through a proxy node', () => {
  it('replaces a 502 and a 404 by the error service page, with the original status and placeholders filled', async () => {
    const seen: { url: string; host: string | undefined; cookie: string | undefined }[] = [];
    const app = await failingApp();
    const pages = await pageServer(seen);
    const plane = planeFor(cleanups);
    const port = await applied(
      plane,
      snapshot(app.url, pages.url, {
        status: ['500-599', '404'],
        service: 'pages',
        query: '/err/{status}.html?orig={originalStatus}&from={url}',
      }),
    );

    const bad = await call(port, { host: 'app.test', path: '/status/502?x=1', headers: { cookie: 'a=b' } });
    assert.equal(bad.status, 502);
    assert.equal(bad.headers['content-type'], 'text/html', "the page's headers, not the app's");
    assert.equal(bad.headers['x-app'], undefined);
    assert.match(bad.body, /^<h1>page for \/err\/502\.html\?orig=502&from=/);
    assert.equal(seen[0]?.host, 'app.test', "the client's Host goes to the error service");
    assert.equal(seen[0]?.cookie, 'a=b', 'every request header goes without errorRequestHeaders');
    assert.equal(
      decodeURIComponent(seen[0]!.url.split('from=')[1]!.replace(/\+/g, ' ')),
      'http://app.test/status/502?x=1',
    );

    const missing = await call(port, { host: 'app.test', path: '/status/404' });
    assert.equal(missing.status, 404);
    assert.match(missing.body, /page for \/err\/404\.html/);

    const fine = await call(port, { host: 'app.test', path: '/status/200' });
    assert.equal(fine.status, 200);
    assert.equal(fine.body, 'app body 200');
    const teapot = await call(port, { host: 'app.test', path: '/status/418' });
    assert.equal(teapot.status, 418, 'a status outside the ranges goes through');
    assert.equal(teapot.body, 'app body 418');
    assert.equal(seen.length, 2);
  });

  it('catches the proxy’s own 502 when the app is down, and applies statusRewrites and errorRequestHeaders', async () => {
    const seen: { url: string; host: string | undefined; cookie: string | undefined }[] = [];
    const pages = await pageServer(seen);
    const plane = planeFor(cleanups);
    const port = await applied(
      plane,
      snapshot('http://127.0.0.1:1', pages.url, {
        status: ['502'],
        statusRewrites: { '500-599': 503 },
        service: 'pages',
        query: '{status}-{originalStatus}',
        errorRequestHeaders: ['x-keep'],
      }),
    );
    const reply = await call(port, { host: 'app.test', headers: { cookie: 'a=b', 'x-keep': '1' } });
    assert.equal(reply.status, 503);
    assert.equal(reply.body, '<h1>page for /503-502</h1>');
    assert.equal(seen[0]?.cookie, undefined, 'only the listed headers go');
  });

  it('answers with the original status and the error service’s own failure when that service fails too', async () => {
    const app = await failingApp();
    const plane = planeFor(cleanups);
    const port = await applied(plane, snapshot(app.url, null, { status: ['500-599'], service: 'pages' }));
    const reply = await call(port, { host: 'app.test', path: '/status/500' });
    assert.equal(reply.status, 500, 'the caught status, as Traefik enforces it on the page answer');
    assert.doesNotMatch(reply.body, /app body/);
  });

  it('disables only the router when the named service is missing from the snapshot', async () => {
    const app = await failingApp();
    const plane = planeFor(cleanups);
    const b = snapshot(app.url, null, { status: ['500'], service: 'nowhere' });
    b.http.routers['other'] = { rule: 'Host(`other.test`)', service: 'app' };
    const port = await applied(plane, b);
    assert.equal((await call(port, { host: 'other.test' })).status, 200);
    // Left out of the table (404), or kept and failing closed (503): never served without its middleware.
    assert.ok([404, 503].includes((await call(port, { host: 'app.test' })).status));
  });
});
