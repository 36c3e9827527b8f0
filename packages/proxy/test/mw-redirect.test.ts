// redirectScheme and redirectRegex: statuses as Traefik gives them, Location built from the request.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${name} is Go template syntax under test, not a JS placeholder.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MiddlewareConfigError } from '../src/http/context.js';
import { redirectStatus } from '../src/http/middlewares/answer-a.js';
import { redirectRegex } from '../src/http/middlewares/redirect-regex.js';
import { redirectScheme, schemeLocation } from '../src/http/middlewares/redirect-scheme.js';
import { call } from './support/client.js';
import {
  build,
  buildContext,
  type Harness,
  type HarnessOptions,
  startHarness,
} from './support/mw-a-harness.js';

const harnesses: Harness[] = [];
after(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

async function harness(mw: Parameters<typeof startHarness>[0], opts: HarnessOptions = {}): Promise<number> {
  const h = await startHarness(mw, opts);
  harnesses.push(h);
  return h.port;
}

describe('redirect status codes', () => {
  it('are 302/301 for GET and 307/308 for other methods, as Traefik', () => {
    assert.equal(redirectStatus('GET', false), 302);
    assert.equal(redirectStatus('GET', true), 301);
    assert.equal(redirectStatus('POST', false), 307);
    assert.equal(redirectStatus('POST', true), 308);
    assert.equal(redirectStatus('HEAD', true), 308);
  });
});

describe('redirectScheme', () => {
  it('sends an http request to https on the same host, path and query', async () => {
    const port = await harness(build(redirectScheme, { scheme: 'https' }));
    const reply = await call(port, { host: 'example.com:8080', path: '/a/b?x=1&y=2' });
    assert.equal(reply.status, 302);
    assert.equal(reply.headers.location, 'https://example.com/a/b?x=1&y=2');
    assert.equal(reply.body, 'Found');
  });

  it('answers 301 when permanent, and 308 for a POST', async () => {
    const port = await harness(build(redirectScheme, { scheme: 'https', permanent: true }));
    assert.equal((await call(port, { host: 'example.com', path: '/' })).status, 301);
    const post = await call(port, { host: 'example.com', path: '/form', method: 'POST', body: 'a=1' });
    assert.equal(post.status, 308);
    assert.equal(post.headers.location, 'https://example.com/form');
  });

  it('puts the configured port in, unless it is the default one for the scheme', () => {
    assert.equal(schemeLocation('https', '8443', 'example.com:80', '/p'), 'https://example.com:8443/p');
    assert.equal(schemeLocation('https', '443', 'example.com:80', '/p'), 'https://example.com/p');
    assert.equal(schemeLocation('http', '80', 'example.com:443', '/p'), 'http://example.com/p');
    assert.equal(schemeLocation('https', undefined, '[::1]:8080', '/'), 'https://[::1]/');
  });

  it('lets a request through when it is already on the target scheme', async () => {
    const port = await harness(build(redirectScheme, { scheme: 'https', port: '8443' }), { scheme: 'https' });
    const reply = await call(port, { host: 'example.com', path: '/x' });
    assert.equal(reply.status, 200);
    assert.equal(JSON.parse(reply.body).target, '/x');
  });

  it('refuses a configuration without a scheme or with a bad port', () => {
    assert.throws(() => redirectScheme({}, buildContext()), MiddlewareConfigError);
    assert.throws(
      () => redirectScheme({ scheme: 'https', port: 'abc' }, buildContext()),
      MiddlewareConfigError,
    );
  });
});

describe('redirectRegex', () => {
  it('matches the full URL and redirects to the expanded replacement', async () => {
    const mw = build(redirectRegex, {
      regex: '^http://localhost/(.*)',
      replacement: 'http://mydomain/${1}',
    });
    const port = await harness(mw);
    const reply = await call(port, { host: 'localhost', path: '/some/path?q=1' });
    assert.equal(reply.status, 302);
    assert.equal(reply.headers.location, 'http://mydomain/some/path?q=1');
  });

  it('sees the port of the Host header and the entry point scheme', async () => {
    const mw = build(redirectRegex, {
      regex: '^https://(.+):8443/(.*)',
      replacement: 'https://$1/$2',
      permanent: true,
    });
    const port = await harness(mw, { scheme: 'https' });
    const reply = await call(port, { host: 'shop.test:8443', path: '/cart', method: 'PUT', body: '{}' });
    assert.equal(reply.status, 308);
    assert.equal(reply.headers.location, 'https://shop.test/cart');
  });

  it('passes a request whose URL does not match', async () => {
    const port = await harness(
      build(redirectRegex, { regex: '^http://old\\.test/', replacement: 'http://new.test/' }),
    );
    assert.equal((await call(port, { host: 'other.test', path: '/' })).status, 200);
  });

  it('passes a request the replacement would send back to itself', async () => {
    const port = await harness(build(redirectRegex, { regex: '^(http://.*)$', replacement: '$1' }));
    assert.equal((await call(port, { host: 'same.test', path: '/loop' })).status, 200);
  });

  it('answers 500 rather than a Location header Node would refuse', async () => {
    const port = await harness(
      build(redirectRegex, { regex: '^http://bad\\.test/(.*)', replacement: 'http://x/\n$1' }),
    );
    assert.equal((await call(port, { host: 'bad.test', path: '/a' })).status, 500);
  });

  it('refuses an invalid regex', () => {
    assert.throws(
      () => redirectRegex({ regex: '(', replacement: '' }, buildContext()),
      MiddlewareConfigError,
    );
  });
});
