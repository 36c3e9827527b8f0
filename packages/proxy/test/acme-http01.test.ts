// ACME HTTP-01 answers carried by a snapshot: every node serves them before any router or redirect.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, describe, it } from 'node:test';
import type { AcmeHttp01Answer, SnapshotBody } from '@berth/protocol';
import { call } from './support/client.js';
import { applied, backendFor, Cleanups, planeFor, portOf } from './support/plane.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

const PREFIX = '/.well-known/acme-challenge/';

/** A catch-all router to `url` (the fast path's kind of route), with `answers` for the CA. */
function withAnswers(url: string, answers: AcmeHttp01Answer[] | undefined, redirect = false): SnapshotBody {
  const b = body(
    { all: { rule: 'PathPrefix(`/`)', service: 'app' } },
    { app: service(url) },
    {
      web: ':80',
      websecure: ':443',
    },
  );
  if (redirect) {
    b.entryPoints['web'] = {
      address: ':80',
      http: { redirections: { entryPoint: { to: 'websecure', scheme: 'https' } } },
    };
  }
  return answers === undefined ? b : { ...b, acme: { http01: answers } };
}

describe('ACME HTTP-01 answers from the snapshot', () => {
  it('answers a known token on its entry point before the catch-all route; other paths go to the backend', async () => {
    const backend = await backendFor(cleanups, 'app');
    const plane = planeFor(cleanups, {
      entryPointOverrides: { web: '127.0.0.1:0', websecure: '127.0.0.1:0' },
    });
    const answers = [
      { entryPoint: 'web', token: 'tok_A-1', keyAuthorization: 'tok_A-1.thumbprint' },
      { entryPoint: 'websecure', token: 'only-there', keyAuthorization: 'only-there.thumbprint' },
    ];
    const port = await applied(plane, withAnswers(backend.url, answers));
    // Twice: the second request on a new connection takes the same way (no fast-path shortcut).
    for (let i = 0; i < 2; i++) {
      const reply = await call(port, { host: 'a.example', path: `${PREFIX}tok_A-1` });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'tok_A-1.thumbprint');
      assert.equal(reply.headers['cache-control'], 'no-store');
    }
    // On a keep-alive connection, where ordinary requests take the raw fast path, too.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const path of ['/warm', `${PREFIX}tok_A-1`, '/after']) {
        const reply = await call(port, { host: 'a.example', path, agent });
        assert.equal(reply.body, path.startsWith(PREFIX) ? 'tok_A-1.thumbprint' : 'app', path);
      }
    } finally {
      agent.destroy();
    }
    assert.ok(plane.fastPathRequests() >= 1, 'the fast path served the ordinary requests');
    assert.deepEqual(
      backend.seen.map((r) => r.url),
      ['/warm', '/after'],
      'the backend saw none of the answered requests',
    );
    // An unknown token, a token of another entry point, and any other path: the routers decide.
    for (const path of [`${PREFIX}unknown`, `${PREFIX}only-there`, '/']) {
      const reply = await call(port, { host: 'a.example', path });
      assert.equal(reply.status, 200, path);
      assert.equal(reply.body, 'app', path);
    }
  });

  it('answers before the entry point redirects to https, and stops answering once the snapshot drops it', async () => {
    const backend = await backendFor(cleanups, 'app');
    const plane = planeFor(cleanups, {
      entryPointOverrides: { web: '127.0.0.1:0', websecure: '127.0.0.1:0' },
    });
    const answer = { entryPoint: 'web', token: 'redirected', keyAuthorization: 'redirected.key' };
    const port = await applied(plane, withAnswers(backend.url, [answer], true));
    const reply = await call(port, { host: 'a.example', path: `${PREFIX}redirected` });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'redirected.key');
    assert.equal((await call(port, { host: 'a.example', path: '/x' })).status, 301);

    // The order is over: the next snapshot carries no answers.
    const result = await plane.apply(withAnswers(backend.url, undefined, true));
    assert.ok(result.ok);
    assert.equal(portOf(plane), port);
    const after = await call(port, { host: 'a.example', path: `${PREFIX}redirected` });
    assert.notEqual(after.body, 'redirected.key');
  });

  it('ignores malformed answers without refusing the snapshot', async () => {
    const backend = await backendFor(cleanups, 'app');
    const plane = planeFor(cleanups);
    const b = withAnswers(backend.url, [
      { entryPoint: 'web', token: 'not.base64url', keyAuthorization: 'x' },
      { entryPoint: 'web', token: 'good', keyAuthorization: 'good.key' },
    ]);
    const port = await applied(plane, b);
    assert.equal((await call(port, { host: 'a.example', path: `${PREFIX}good` })).body, 'good.key');
    assert.equal((await call(port, { host: 'a.example', path: `${PREFIX}not.base64url` })).body, 'app');
  });
});
