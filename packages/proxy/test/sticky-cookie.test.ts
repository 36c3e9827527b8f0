// Sticky cookie names, values, parsing and Set-Cookie attributes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  defaultCookieName,
  readCookie,
  StickySessions,
  setCookieHeader,
  stickyValue,
} from '../src/balancer/sticky-cookie.js';

describe('sticky cookies', () => {
  it('names the cookie _ and the first 6 hex digits of sha1(service), as Traefik does', () => {
    const expected = `_${createHash('sha1').update('whoami@docker').digest('hex').slice(0, 6)}`;
    assert.equal(defaultCookieName('whoami@docker'), expected);
    assert.match(defaultCookieName('x'), /^_[0-9a-f]{6}$/);
  });

  it('uses a stable hash of the server URL as the value, never the address itself', () => {
    const value = stickyValue('http://10.0.0.7:8080/');
    assert.equal(value, stickyValue('http://10.0.0.7:8080/'));
    assert.notEqual(value, stickyValue('http://10.0.0.8:8080/'));
    assert.doesNotMatch(value, /10\.0\.0\.7|8080/);
    assert.match(value, /^[0-9a-f]{16}$/);
  });

  it('reads its cookie among others, and not from a cookie whose name merely ends the same', () => {
    assert.equal(readCookie('a=1; sess=xyz; b=2', 'sess'), 'xyz');
    assert.equal(readCookie('sess=xyz', 'sess'), 'xyz');
    assert.equal(readCookie('mysess=no; sess="q"', 'sess'), 'q');
    assert.equal(readCookie('mysess=no', 'sess'), undefined);
    assert.equal(readCookie('sessx=no', 'sess'), undefined);
    assert.equal(readCookie(['a=1', 'sess=two'], 'sess'), 'two');
    assert.equal(readCookie(undefined, 'sess'), undefined);
  });

  it('writes every configured attribute', () => {
    assert.equal(setCookieHeader('n', 'v', {}), 'n=v; Path=/');
    assert.equal(
      setCookieHeader('n', 'v', {
        secure: true,
        httpOnly: true,
        sameSite: 'strict',
        maxAge: 3600,
        path: '/app',
        domain: 'example.com',
      }),
      'n=v; Path=/app; Domain=example.com; Max-Age=3600; HttpOnly; Secure; SameSite=Strict',
    );
    assert.equal(
      setCookieHeader('n', 'v', { maxAge: -1, sameSite: 'none' }),
      'n=v; Path=/; Max-Age=0; SameSite=None',
    );
  });

  it('maps a cookie value back to its target, and a stale value to none', () => {
    const sessions = new StickySessions('svc', { name: 'pin' }, ['http://a/', 'http://b/'], (url) => url);
    const cookie = sessions.setCookie('http://b/');
    assert.match(cookie, /^pin=[0-9a-f]{16}; Path=\/$/);
    const value = cookie.slice('pin='.length, cookie.indexOf(';'));
    assert.equal(sessions.find(`other=1; pin=${value}`), 'http://b/');
    assert.equal(sessions.find('pin=0000000000000000'), undefined);
    assert.equal(new StickySessions('svc', {}, [], String).name, defaultCookieName('svc'));
  });
});
