// digestAuth through a real data plane, with curl --digest as the client; nonces, staleness and replays as pure parts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { HttpMiddleware } from '@berth/config';
import { NONCE_TTL_MS, NonceSigner, parseDigestAuthorization } from '../src/http/middlewares/digest-auth.js';
import { call } from './support/client.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { body, service } from './support/snapshot.js';

const run = promisify(execFile);
const cleanups = new Cleanups();
after(() => cleanups.run());

const md5 = (t: string) => createHash('md5').update(t).digest('hex');
/** What `htdigest` writes for test/traefik/secret. */
const TEST_USER = `test:traefik:${md5('test:traefik:secret')}`;

async function setup(config: NonNullable<HttpMiddleware['digestAuth']>) {
  const app = await backendFor(cleanups, 'app');
  const b = body(
    { app: { rule: 'Host(`app.test`)', service: 'app', middlewares: ['digest'] } },
    { app: service(app.url) },
  );
  b.http.middlewares = { digest: { digestAuth: config } };
  return { port: await applied(planeFor(cleanups), b), app };
}

async function curl(
  port: number,
  user: string,
  path = '/docs?x=1',
): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', [
    ...['-s', '--digest', '-u', user, '-H', 'Host: app.test', '-w', '\n%{http_code}'],
    `http://127.0.0.1:${port}${path}`,
  ]);
  const lines = stdout.split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n') };
}

describe('digestAuth through a data plane', () => {
  it('challenges with Traefik’s WWW-Authenticate and lets curl --digest in with the right password', async () => {
    const { port, app } = await setup({
      users: [TEST_USER],
      headerField: 'X-WebAuth-User',
      removeHeader: true,
    });
    const challenge = await call(port, { host: 'app.test' });
    assert.equal(challenge.status, 401);
    assert.equal(challenge.body, '401 Unauthorized\n');
    assert.match(
      challenge.headers['www-authenticate'] as string,
      /^Digest realm="traefik", nonce="[^"]+", opaque="[^"]+", algorithm="MD5", qop="auth"$/,
    );
    const ok = await curl(port, 'test:secret');
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'app');
    assert.equal(app.seen[0]!.headers['x-webauth-user'], 'test');
    assert.equal(app.seen[0]!.headers.authorization, undefined, 'removeHeader');
    assert.equal(app.seen[0]!.url, '/docs?x=1');
  });

  it('refuses a wrong password, an unknown user, and a user of another realm', async () => {
    const { port, app } = await setup({ users: [TEST_USER, `bob:other:${md5('bob:other:pw')}`] });
    assert.equal((await curl(port, 'test:wrong')).status, 401);
    assert.equal((await curl(port, 'nobody:secret')).status, 401);
    assert.equal((await curl(port, 'bob:pw')).status, 401);
    assert.equal(app.seen.length, 0);
  });

  it('refuses a replayed nonce count, and a nonce whose time was altered', async () => {
    const { port, app } = await setup({ users: [TEST_USER] });
    const challenge = (await call(port, { host: 'app.test' })).headers['www-authenticate'] as string;
    const p = parseDigestAuthorization(challenge)!;
    const authorization = (nonce: string, nc: string) => {
      const ha1 = md5('test:traefik:secret');
      const response = md5([ha1, nonce, nc, 'c1', 'auth', md5('GET:/')].join(':'));
      return `Digest username="test", realm="traefik", nonce="${nonce}", uri="/", qop=auth, nc=${nc}, cnonce="c1", response="${response}", opaque="${p.get('opaque')}", algorithm=MD5`;
    };
    const nonce = p.get('nonce')!;
    const send = (value: string) => call(port, { host: 'app.test', headers: { authorization: value } });
    assert.equal((await send(authorization(nonce, '00000001'))).status, 200);
    assert.equal((await send(authorization(nonce, '00000001'))).status, 401, 'replay');
    assert.equal((await send(authorization(nonce, '00000002'))).status, 200);
    assert.equal(app.seen.length, 2);
    const old = nonce.replace(/^[^.]+/, (Date.now() - NONCE_TTL_MS - 60_000).toString(36));
    const stale = await send(authorization(old, '00000001'));
    assert.equal(stale.status, 401);
    assert.doesNotMatch(
      stale.headers['www-authenticate'] as string,
      /stale=true/,
      'a forged time breaks the signature',
    );
  });

  it('uses the configured realm', async () => {
    const { port } = await setup({ users: [`ann:staff:${md5('ann:staff:pw')}`], realm: 'staff' });
    assert.equal((await curl(port, 'ann:pw')).status, 200);
  });
});

describe('digest nonces (pure)', () => {
  it('accepts its own nonces, any instance with the same configuration too, and calls old ones stale', () => {
    const a = new NonceSigner('cfg');
    const b = new NonceSigner('cfg');
    const now = 1_700_000_000_000;
    const nonce = a.issue(now);
    assert.equal(b.check(nonce, now + 1000), 'ok');
    assert.equal(b.check(nonce, now + NONCE_TTL_MS + 1), 'stale');
    assert.equal(new NonceSigner('other').check(nonce, now), 'bad');
    assert.equal(a.check(`${nonce}x`, now), 'bad');
    assert.equal(a.opaque, b.opaque);
  });

  it('parses quoted and bare parameters', () => {
    const p = parseDigestAuthorization('Digest username="a\\"b", nc=00000001, qop=auth, uri="/x?y=1,2"');
    assert.equal(p?.get('username'), 'a"b');
    assert.equal(p?.get('nc'), '00000001');
    assert.equal(p?.get('qop'), 'auth');
    assert.equal(p?.get('uri'), '/x?y=1,2');
    assert.equal(parseDigestAuthorization('Basic abc'), null);
  });
});
