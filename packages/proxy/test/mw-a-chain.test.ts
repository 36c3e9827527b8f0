// Part-A middlewares composed the way a router stacks them: redirect, CORS, auth, then path rewriting.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { basicAuth } from '../src/http/middlewares/basic-auth.js';
import { headers } from '../src/http/middlewares/headers.js';
import { middlewareFactories } from '../src/http/middlewares/index.js';
import { ipAllowList } from '../src/http/middlewares/ip-allow-list.js';
import { redirectScheme } from '../src/http/middlewares/redirect-scheme.js';
import { stripPrefix } from '../src/http/middlewares/strip-prefix.js';
import { call } from './support/client.js';
import { build, buildContext, type Echo, type Harness, startHarness } from './support/mw-a-harness.js';

const user = `ann:${bcrypt.hashSync('s3cret', 4)}`;
const auth = `Basic ${Buffer.from('ann:s3cret').toString('base64')}`;

function stack() {
  return [
    build(redirectScheme, { scheme: 'https', permanent: true }),
    build(ipAllowList, { sourceRange: ['127.0.0.0/8'] }),
    build(headers, {
      accessControlAllowOriginList: ['https://app.test'],
      accessControlAllowMethods: ['GET', 'POST'],
      stsSeconds: 300,
    }),
    build(basicAuth, { users: [user], headerField: 'X-User', removeHeader: true }),
    build(stripPrefix, { prefixes: ['/api'] }),
  ];
}

describe('a stack of part-A middlewares', () => {
  let plain: Harness;
  let secure: Harness;
  before(async () => {
    plain = await startHarness(stack());
    secure = await startHarness(stack(), { scheme: 'https' });
  });
  after(async () => {
    await Promise.all([plain.close(), secure.close()]);
  });

  it('redirects plain http before anything else runs', async () => {
    const reply = await call(plain.port, { host: 'app.test', path: '/api/x?y=1' });
    assert.equal(reply.status, 301);
    assert.equal(reply.headers.location, 'https://app.test/api/x?y=1');
  });

  it('answers a CORS preflight before authentication asks for credentials', async () => {
    const reply = await call(secure.port, {
      method: 'OPTIONS',
      path: '/api/x',
      headers: { origin: 'https://app.test', 'access-control-request-method': 'POST' },
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['access-control-allow-origin'], 'https://app.test');
  });

  it('puts CORS and HSTS headers on the 401 too, so a browser can read it', async () => {
    const reply = await call(secure.port, { path: '/api/x', headers: { origin: 'https://app.test' } });
    assert.equal(reply.status, 401);
    assert.equal(reply.headers['access-control-allow-origin'], 'https://app.test');
    assert.equal(reply.headers['strict-transport-security'], 'max-age=300');
  });

  it('forwards an authenticated request with the path stripped and the user named', async () => {
    const reply = await call(secure.port, { path: '/api/items?page=3', headers: { authorization: auth } });
    assert.equal(reply.status, 200);
    const seen = JSON.parse(reply.body) as Echo;
    assert.equal(seen.target, '/items?page=3');
    assert.equal(seen.path, '/items');
    assert.equal(seen.upstreamHeaders['x-forwarded-prefix'], '/api');
    assert.equal(seen.upstreamHeaders['x-user'], 'ann');
    assert.equal(seen.upstreamHeaders['authorization'], null);
  });

  it('answers garbage credentials with 401, never an error', async () => {
    for (const value of ['Basic !!!', 'Basic', `Basic ${'A'.repeat(4000)}`, 'Digest x']) {
      assert.equal((await call(secure.port, { headers: { authorization: value } })).status, 401, value);
    }
  });
});

describe('the part-A registry', () => {
  it('builds every middleware it lists from a minimal configuration', () => {
    const minimal: Record<string, unknown> = {
      redirectScheme: { scheme: 'https' },
      redirectRegex: { regex: '^http://a/(.*)', replacement: 'http://b/$1' },
      stripPrefix: { prefixes: ['/a'] },
      stripPrefixRegex: { regex: ['/a'] },
      addPrefix: { prefix: '/a' },
      replacePath: { path: '/a' },
      replacePathRegex: { regex: '^/a', replacement: '/b' },
      headers: { frameDeny: true },
      basicAuth: { users: [user] },
      ipAllowList: { sourceRange: ['127.0.0.1'] },
    };
    for (const [key, config] of Object.entries(minimal)) {
      const factory = middlewareFactories[key as keyof typeof middlewareFactories];
      assert.ok(factory, `no factory for ${key}`);
      const mw = factory(config as never, buildContext(key));
      assert.equal(typeof mw, 'function', key);
    }
  });
});
