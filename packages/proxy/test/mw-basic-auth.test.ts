// basicAuth: htpasswd hashes (bcrypt, apr1, {SHA}), the 401 challenge, upstream headers and the success cache.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { MiddlewareConfigError } from '../src/http/context.js';
import {
  basicAuth,
  makeVerifier,
  parseBasicAuthorization,
  SuccessCache,
} from '../src/http/middlewares/basic-auth.js';
import { checkPassword, md5Crypt, parseHtpasswdLine } from '../src/http/middlewares/htpasswd-a.js';
import { call } from './support/client.js';
import { build, buildContext, type Echo, type Harness, startHarness } from './support/mw-a-harness.js';

const run = promisify(execFile);
const harnesses: Harness[] = [];
after(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

// Cost 4 keeps the tests fast; the algorithm is the same at any cost.
const bcryptUser = `ann:${bcrypt.hashSync('s3cret', 4)}`;
const apr1User = 'bob:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/'; // openssl passwd -apr1 -salt abcdefgh secret
const shaUser = 'cat:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='; // base64(sha1("password"))

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

async function harness(config: Parameters<typeof basicAuth>[0]): Promise<number> {
  const h = await startHarness(build(basicAuth, config));
  harnesses.push(h);
  return h.port;
}

describe('htpasswd hashes', () => {
  it('computes apr1 and MD5-crypt exactly as openssl passwd does (fixed vectors)', () => {
    assert.equal(md5Crypt(Buffer.from('secret'), 'abcdefgh'), '$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/');
    assert.equal(md5Crypt(Buffer.from('secret'), 'xyz', '$1$'), '$1$xyz$Qia9Wq6FxQkYcwNWMk/RM0');
    assert.equal(md5Crypt(Buffer.from(''), 'a.b/'), '$apr1$a.b/$mHwghbmqH/s0nHTUMLGrm/');
  });

  it('computes apr1 as openssl passwd -apr1 does for random passwords and salts', async () => {
    const alphabet = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (let i = 0; i < 6; i++) {
      const bytes = randomBytes(8);
      const salt = [...bytes].map((b) => alphabet[b % 64]).join('');
      const password = `pw-${randomBytes(3 + i * 7).toString('hex')}-é`;
      const { stdout } = await run('openssl', ['passwd', '-apr1', '-salt', salt, password]);
      assert.equal(md5Crypt(Buffer.from(password), salt), stdout.trim());
    }
  });

  it('checks bcrypt ($2a$, $2b$, $2y$), apr1 and {SHA} entries', async () => {
    // A classic OpenBSD vector: "U*U" with cost 5.
    const vector = parseHtpasswdLine('u:$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW');
    assert.ok(await checkPassword(vector, Buffer.from('U*U')));
    assert.ok(!(await checkPassword(vector, Buffer.from('U*V'))));
    const y = parseHtpasswdLine(bcryptUser.replace('$2b$', '$2y$'));
    assert.equal(y.kind, 'bcrypt');
    assert.ok(await checkPassword(y, Buffer.from('s3cret')));
    assert.ok(await checkPassword(parseHtpasswdLine(apr1User), Buffer.from('secret')));
    assert.ok(!(await checkPassword(parseHtpasswdLine(apr1User), Buffer.from('Secret'))));
    assert.ok(await checkPassword(parseHtpasswdLine(shaUser), Buffer.from('password')));
    assert.ok(!(await checkPassword(parseHtpasswdLine(shaUser), Buffer.from('passwords'))));
  });

  it('refuses bcrypt passwords longer than 72 bytes instead of ignoring their tail, as Go does', async () => {
    const long = 'x'.repeat(72);
    const entry = parseHtpasswdLine(`u:${bcrypt.hashSync(long, 4)}`);
    assert.ok(await checkPassword(entry, Buffer.from(long)));
    assert.ok(!(await checkPassword(entry, Buffer.from(`${long}y`))));
  });

  it('refuses lines without a user or with an unknown hash format', () => {
    assert.throws(() => parseHtpasswdLine('nocolon'));
    assert.throws(() => parseHtpasswdLine(':$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/'));
    assert.throws(() => parseHtpasswdLine('plain:password'), /unsupported password hash/);
  });

  it('reads the Authorization header leniently on the scheme, strictly on the shape', () => {
    assert.deepEqual(parseBasicAuthorization(basic('a', 'b:c')), ['a', Buffer.from('b:c')]);
    assert.deepEqual(parseBasicAuthorization(`bAsIc ${Buffer.from('x:').toString('base64')}`), [
      'x',
      Buffer.alloc(0),
    ]);
    assert.equal(parseBasicAuthorization('Bearer abc'), null);
    assert.equal(parseBasicAuthorization(`Basic ${Buffer.from('nocolon').toString('base64')}`), null);
    assert.equal(parseBasicAuthorization(undefined), null);
  });
});

describe('basicAuth middleware', () => {
  it('asks for credentials with 401 and the realm', async () => {
    const port = await harness({ users: [apr1User], realm: 'staff' });
    const reply = await call(port);
    assert.equal(reply.status, 401);
    assert.equal(reply.headers['www-authenticate'], 'Basic realm="staff"');
    assert.equal(reply.body, '401 Unauthorized\n');
  });

  it('lets each kind of user in with the right password, and no one with a wrong one', async () => {
    const port = await harness({ users: [bcryptUser, apr1User, shaUser] });
    for (const [user, pw] of [
      ['ann', 's3cret'],
      ['bob', 'secret'],
      ['cat', 'password'],
    ] as const) {
      assert.equal((await call(port, { headers: { authorization: basic(user, pw) } })).status, 200, user);
      assert.equal(
        (await call(port, { headers: { authorization: basic(user, `${pw}x`) } })).status,
        401,
        user,
      );
    }
    assert.equal((await call(port, { headers: { authorization: basic('nobody', 's3cret') } })).status, 401);
  });

  it('accepts a request from curl -u', async () => {
    const port = await harness({ users: [bcryptUser] });
    const ok = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-u',
      'ann:s3cret',
      `http://127.0.0.1:${port}/`,
    ]);
    assert.equal(ok.stdout, '200');
    const no = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-u',
      'ann:nope',
      `http://127.0.0.1:${port}/`,
    ]);
    assert.equal(no.stdout, '401');
  });

  it('strips Authorization upstream with removeHeader and names the user in headerField', async () => {
    const port = await harness({ users: [apr1User], removeHeader: true, headerField: 'X-WebAuth-User' });
    const reply = await call(port, { headers: { authorization: basic('bob', 'secret') } });
    const seen = JSON.parse(reply.body) as Echo;
    assert.ok('authorization' in seen.upstreamHeaders);
    assert.equal(seen.upstreamHeaders['authorization'], null);
    assert.equal(seen.upstreamHeaders['x-webauth-user'], 'bob');
  });

  it('skips blank and comment lines in users', async () => {
    const port = await harness({ users: ['', '# staff', apr1User] });
    assert.equal((await call(port, { headers: { authorization: basic('bob', 'secret') } })).status, 200);
  });

  it('refuses a configuration with no users, a usersFile left unread, or a bad line', () => {
    assert.throws(() => basicAuth({}, buildContext()), MiddlewareConfigError);
    assert.throws(() => basicAuth({ usersFile: '/etc/users' }, buildContext()), /not read into users/);
    assert.throws(() => basicAuth({ users: ['# only a comment'] }, buildContext()), MiddlewareConfigError);
    assert.throws(() => basicAuth({ users: ['ann:plaintext'] }, buildContext()), /users\[0\]/);
  });
});

describe('bcrypt success cache', () => {
  it('keeps a success until it expires, and evicts the oldest when full', () => {
    let now = 1000;
    const cache = new SuccessCache(50, 2, () => now);
    const a = cache.key('ann', Buffer.from('pw'));
    assert.ok(!cache.has(a));
    cache.add(a);
    assert.ok(cache.has(a));
    now += 51;
    assert.ok(!cache.has(a));
    cache.add(cache.key('a', Buffer.from('1')));
    cache.add(cache.key('b', Buffer.from('2')));
    cache.add(cache.key('c', Buffer.from('3')));
    assert.equal(cache.size, 2);
    assert.ok(!cache.has(cache.key('a', Buffer.from('1'))));
  });

  it('keys entries by a keyed hash, never the password, and per instance', () => {
    const cache = new SuccessCache();
    const key = cache.key('ann', Buffer.from('s3cret'));
    assert.ok(!key.includes('s3cret'));
    assert.notEqual(key, new SuccessCache().key('ann', Buffer.from('s3cret')));
    assert.notEqual(key, cache.key('ann', Buffer.from('s3cres')));
  });

  it('caches bcrypt successes only', async () => {
    const cache = new SuccessCache();
    const verify = makeVerifier(new Map([['ann', parseHtpasswdLine(bcryptUser)]]), cache);
    assert.ok(!(await verify('ann', Buffer.from('wrong'))));
    assert.equal(cache.size, 0);
    assert.ok(!(await verify('zed', Buffer.from('s3cret'))));
    assert.equal(cache.size, 0);
    assert.ok(await verify('ann', Buffer.from('s3cret')));
    assert.equal(cache.size, 1);
    assert.ok(await verify('ann', Buffer.from('s3cret')));
    assert.ok(!(await verify('ann', Buffer.from('s3cret2'))));
  });

  it('shares one bcrypt computation among identical checks running at once', async () => {
    const calls: string[] = [];
    const counting: typeof checkPassword = (entry, password) => {
      calls.push(entry.user);
      return checkPassword(entry, password);
    };
    const verify = makeVerifier(
      new Map([['ann', parseHtpasswdLine(bcryptUser)]]),
      new SuccessCache(),
      counting,
    );
    const results = await Promise.all(Array.from({ length: 5 }, () => verify('ann', Buffer.from('s3cret'))));
    assert.deepEqual(results, [true, true, true, true, true]);
    assert.equal(calls.length, 1);
  });

  it('checks an unknown user against the costliest entry, so it costs what a known user does', async () => {
    const calls: string[] = [];
    const counting: typeof checkPassword = async (entry, password) => {
      calls.push(entry.user);
      return checkPassword(entry, password);
    };
    const users = new Map(
      [apr1User, bcryptUser, shaUser].map((line) => {
        const e = parseHtpasswdLine(line);
        return [e.user, e] as const;
      }),
    );
    const verify = makeVerifier(users, new SuccessCache(), counting);
    // Even the decoy's own password does not let an unknown name in.
    assert.ok(!(await verify('zed', Buffer.from('s3cret'))));
    assert.deepEqual(calls, ['ann']);
  });
});
