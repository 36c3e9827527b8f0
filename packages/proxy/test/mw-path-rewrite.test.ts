// stripPrefix, stripPrefixRegex, addPrefix, replacePath and replacePathRegex, through a real loopback server.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${name} is Go template syntax under test, not a JS placeholder.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MiddlewareConfigError } from '../src/http/context.js';
import { addPrefix } from '../src/http/middlewares/add-prefix.js';
import { replacePath } from '../src/http/middlewares/replace-path.js';
import { replacePathRegex } from '../src/http/middlewares/replace-path-regex.js';
import { stripLiteralPrefix, stripPrefix } from '../src/http/middlewares/strip-prefix.js';
import { stripPrefixRegex } from '../src/http/middlewares/strip-prefix-regex.js';
import { call } from './support/client.js';
import { build, buildContext, type Echo, type Harness, startHarness } from './support/mw-a-harness.js';

const harnesses: Harness[] = [];
after(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

async function through(mw: Parameters<typeof startHarness>[0], path: string): Promise<Echo> {
  const h = await startHarness(mw);
  harnesses.push(h);
  const reply = await call(h.port, { path });
  assert.equal(reply.status, 200);
  return JSON.parse(reply.body) as Echo;
}

describe('stripPrefix', () => {
  it('cuts the prefix, keeps the query and sets X-Forwarded-Prefix', async () => {
    const seen = await through(build(stripPrefix, { prefixes: ['/api'] }), '/api/users?page=2');
    assert.equal(seen.target, '/users?page=2');
    assert.equal(seen.path, '/users');
    assert.equal(seen.upstreamHeaders['x-forwarded-prefix'], '/api');
  });

  it('uses the first prefix that matches, in order', async () => {
    const seen = await through(build(stripPrefix, { prefixes: ['/a', '/a/b'] }), '/a/b/c');
    assert.equal(seen.target, '/b/c');
  });

  it('leaves a path that matches no prefix alone, without the header', async () => {
    const seen = await through(build(stripPrefix, { prefixes: ['/api'] }), '/web/x');
    assert.equal(seen.target, '/web/x');
    assert.equal(seen.upstreamHeaders['x-forwarded-prefix'], undefined);
  });

  it('strips a bare prefix to / and matches prefixes as strings, as Traefik', async () => {
    assert.equal((await through(build(stripPrefix, { prefixes: ['/api'] }), '/api')).target, '/');
    assert.equal((await through(build(stripPrefix, { prefixes: ['/api'] }), '/apiv2/x')).target, '/v2/x');
    assert.equal((await through(build(stripPrefix, { prefixes: ['/api/'] }), '/api/x?q=1')).target, '/x?q=1');
  });

  it('follows Traefik forceSlash semantics', () => {
    // forceSlash (the default): the rest always starts with one slash of its own.
    assert.equal(stripLiteralPrefix('/foo', '/foo', true), '/');
    assert.equal(stripLiteralPrefix('/foo/bar', '/foo/', true), '/bar');
    assert.equal(stripLiteralPrefix('/foo//bar', '/foo', true), '//bar');
    // Without it an empty rest stays empty (it goes on the wire as `/`).
    assert.equal(stripLiteralPrefix('/foo', '/foo', false), '');
    assert.equal(stripLiteralPrefix('/foobar', '/foo', false), '/bar');
    assert.equal(stripLiteralPrefix('/foo/bar', '/foo', false), '/bar');
  });

  it('stacks X-Forwarded-Prefix when two strip middlewares apply', async () => {
    const seen = await through(
      [build(stripPrefix, { prefixes: ['/a'] }), build(stripPrefix, { prefixes: ['/b'] })],
      '/a/b/c',
    );
    assert.equal(seen.target, '/c');
    assert.equal(seen.upstreamHeaders['x-forwarded-prefix'], '/a, /b');
  });
});

describe('stripPrefixRegex', () => {
  it('cuts the regex match at the start of the path into X-Forwarded-Prefix', async () => {
    const seen = await through(build(stripPrefixRegex, { regex: ['/api/v[0-9]+'] }), '/api/v12/items?x=1');
    assert.equal(seen.target, '/items?x=1');
    assert.equal(seen.path, '/items');
    assert.equal(seen.upstreamHeaders['x-forwarded-prefix'], '/api/v12');
  });

  it('ignores a match that is not at the start of the path', async () => {
    const seen = await through(build(stripPrefixRegex, { regex: ['/v[0-9]+'] }), '/api/v1/items');
    assert.equal(seen.target, '/api/v1/items');
  });

  it('leaves / when the whole path matched', async () => {
    assert.equal((await through(build(stripPrefixRegex, { regex: ['^/.*'] }), '/all/of/it')).target, '/');
  });

  it('refuses an invalid pattern when built', () => {
    assert.throws(() => stripPrefixRegex({ regex: ['(unclosed'] }, buildContext()), MiddlewareConfigError);
  });
});

describe('addPrefix', () => {
  it('puts the prefix in front of the path and keeps the query', async () => {
    const seen = await through(build(addPrefix, { prefix: '/v1' }), '/users?sort=asc');
    assert.equal(seen.target, '/v1/users?sort=asc');
    assert.equal(seen.path, '/v1/users');
  });

  it('adds a missing leading slash', async () => {
    assert.equal((await through(build(addPrefix, { prefix: 'v1' }), '/x')).target, '/v1/x');
  });

  it('refuses an empty prefix', () => {
    assert.throws(() => addPrefix({ prefix: '' }, buildContext()), MiddlewareConfigError);
  });
});

describe('replacePath', () => {
  it('replaces the path, keeps the query and reports the old path in X-Replaced-Path', async () => {
    const seen = await through(build(replacePath, { path: '/health' }), '/anything/here?verbose=1');
    assert.equal(seen.target, '/health?verbose=1');
    assert.equal(seen.path, '/health');
    assert.equal(seen.upstreamHeaders['x-replaced-path'], '/anything/here');
  });

  it('percent-encodes characters a path may not carry', async () => {
    assert.equal((await through(build(replacePath, { path: '/a b?c' }), '/')).target, '/a%20b%3Fc');
  });
});

describe('replacePathRegex', () => {
  it('rewrites with a Go template and reports the old path', async () => {
    const mw = build(replacePathRegex, { regex: '^/foo/(.*)', replacement: '/bar/$1' });
    const seen = await through(mw, '/foo/baz?q=1');
    assert.equal(seen.target, '/bar/baz?q=1');
    assert.equal(seen.path, '/bar/baz');
    assert.equal(seen.upstreamHeaders['x-replaced-path'], '/foo/baz');
  });

  it('accepts ${name} templates with (?P<name>) groups', async () => {
    const mw = build(replacePathRegex, { regex: '^/u/(?P<id>\\d+)$', replacement: '/users/${id}' });
    assert.equal((await through(mw, '/u/42')).target, '/users/42');
  });

  it('deletes what matched when the replacement is empty, leaving at least /', async () => {
    const mw = build(replacePathRegex, { regex: ' /internal ', replacement: '' });
    assert.equal((await through(mw, '/internal/x?y=1')).target, '/x?y=1');
    assert.equal((await through(mw, '/internal')).target, '/');
  });

  it('leaves a path that does not match alone', async () => {
    const mw = build(replacePathRegex, { regex: '^/foo/(.*)', replacement: '/bar/$1' });
    const seen = await through(mw, '/other');
    assert.equal(seen.target, '/other');
    assert.equal(seen.upstreamHeaders['x-replaced-path'], undefined);
  });
});
