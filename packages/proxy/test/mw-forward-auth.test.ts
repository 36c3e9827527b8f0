// forwardAuth through a real data plane, against an auth server run by the test the way Authelia or oauth2-proxy answer.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import type { ForwardAuthMiddleware } from '@berth/config';
import {
  authRequestHeaders,
  canonicalHeaderKey,
  forwardAuthWithin,
} from '../src/http/middlewares/forward-auth.js';
import type { Backend } from './support/backend.js';
import { call } from './support/client.js';
import { build, startHarness } from './support/mw-a-harness.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { body, service } from './support/snapshot.js';
import { makeTestCa } from './support/tls-pki.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

/** Authelia-like: a `session=good` cookie passes with Remote-* headers, anything else goes to the login page. */
function authelia(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const cookie = req.headers.cookie ?? '';
    if (req.url === '/relative') {
      res.writeHead(302, { location: '/login?x=1' });
      res.end();
      return;
    }
    if (req.url === '/big') {
      res.writeHead(401, { 'content-type': 'text/html' });
      res.end('x'.repeat(5000));
      return;
    }
    if (/(^|;\s*)session=good/.test(cookie)) {
      res.writeHead(200, {
        'remote-user': 'alice',
        'remote-groups': 'admins,dev',
        'remote-email': 'alice@example.test',
        'x-auth-extra': 'e1',
        'set-cookie': ['auth_refresh=r1; Path=/', 'other=o1'],
        'x-body-seen': Buffer.concat(chunks).toString('utf8'),
      });
      res.end();
      return;
    }
    const rd = `${req.headers['x-forwarded-proto']}://${req.headers['x-forwarded-host']}${req.headers['x-forwarded-uri']}`;
    const text = '<a href="https://auth.test/">Found</a>';
    res.writeHead(302, {
      location: `https://auth.test/?rd=${encodeURIComponent(rd)}`,
      'set-cookie': 'authelia_flow=f1; Path=/',
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  });
}

async function setup(
  options: Partial<ForwardAuthMiddleware> & { path?: string } = {},
): Promise<{ port: number; auth: Backend; app: Backend }> {
  const auth = await backendFor(cleanups, 'auth', authelia);
  const app = await backendFor(cleanups, 'app');
  const { path = '/api/authz/forward-auth', ...rest } = options;
  const b = body(
    { app: { rule: 'Host(`app.test`)', service: 'app', middlewares: ['auth'] } },
    { app: service(app.url) },
  );
  b.http.middlewares = {
    auth: {
      forwardAuth: {
        address: `${auth.url}${path}`,
        trustForwardHeader: true,
        authResponseHeaders: ['Remote-User', 'Remote-Groups', 'Remote-Email'],
        ...rest,
      },
    },
  };
  const port = await applied(planeFor(cleanups), b);
  return { port, auth, app };
}

describe('forwardAuth through a data plane', () => {
  it('sends an unauthenticated request to the login page: the auth server answer reaches the client, the app never sees it', async () => {
    const { port, auth, app } = await setup();
    const r = await call(port, { host: 'app.test:8443', path: '/docs?page=2', method: 'POST', body: 'hi' });
    assert.equal(r.status, 302);
    assert.equal(
      r.headers.location,
      `https://auth.test/?rd=${encodeURIComponent('http://app.test:8443/docs?page=2')}`,
    );
    assert.deepEqual(r.headers['set-cookie'], ['authelia_flow=f1; Path=/']);
    assert.equal(r.body, '<a href="https://auth.test/">Found</a>');
    assert.equal(app.seen.length, 0);
    const seen = auth.seen[0]!;
    assert.equal(seen.method, 'GET', 'Traefik asks with GET unless preserveRequestMethod');
    assert.equal(seen.url, '/api/authz/forward-auth');
    assert.equal(seen.headers['x-forwarded-method'], 'POST');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'app.test:8443');
    assert.equal(seen.headers['x-forwarded-port'], '8443');
    assert.equal(seen.headers['x-forwarded-uri'], '/docs?page=2');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['content-length'], undefined, 'no body unless forwardBody');
  });

  it('passes a request with a session, copying the listed headers over forged ones, and keeps other headers', async () => {
    const { port, app } = await setup();
    const r = await call(port, {
      host: 'app.test',
      path: '/x',
      headers: { cookie: 'session=good', 'remote-user': 'mallory', 'x-custom': 'kept' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'app');
    const seen = app.seen[0]!;
    assert.equal(seen.headers['remote-user'], 'alice');
    assert.equal(seen.headers['remote-groups'], 'admins,dev');
    assert.equal(seen.headers['remote-email'], 'alice@example.test');
    assert.equal(seen.headers['x-auth-extra'], undefined, 'not listed');
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.equal(r.headers['set-cookie'], undefined, 'auth cookies only when listed');
  });

  it('removes a listed header the auth server does not send, so a client cannot forge it', async () => {
    const { port, app } = await setup({ authResponseHeaders: ['Remote-Name'] });
    await call(port, { host: 'app.test', headers: { cookie: 'session=good', 'remote-name': 'forged' } });
    assert.equal(app.seen[0]!.headers['remote-name'], undefined);
  });

  it('copies headers matching authResponseHeadersRegex and drops the client headers it matches', async () => {
    const { port, app } = await setup({ authResponseHeaders: [], authResponseHeadersRegex: '^X-Auth-' });
    await call(port, { host: 'app.test', headers: { cookie: 'session=good', 'x-auth-forged': 'no' } });
    const seen = app.seen[0]!;
    assert.equal(seen.headers['x-auth-extra'], 'e1');
    assert.equal(seen.headers['x-auth-forged'], undefined);
  });

  it('adds the listed auth cookies to the response, in place of the app’s own of that name', async () => {
    const { port } = await setup({ addAuthCookiesToResponse: ['auth_refresh'] });
    const r = await call(port, { host: 'app.test', headers: { cookie: 'session=good' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers['set-cookie'], ['auth_refresh=r1; Path=/']);
  });

  it('sends only authRequestHeaders (plus X-Forwarded-*) when listed', async () => {
    const { port, auth } = await setup({ authRequestHeaders: ['Cookie'] });
    await call(port, { host: 'app.test', headers: { cookie: 'session=good', 'x-secret': 's' } });
    const seen = auth.seen[0]!;
    assert.equal(seen.headers.cookie, 'session=good');
    assert.equal(seen.headers['x-secret'], undefined);
    assert.equal(seen.headers['x-forwarded-host'], 'app.test');
  });

  it('resolves a relative Location against the auth address, unless preserveLocationHeader', async () => {
    const a = await setup({ path: '/relative' });
    const r1 = await call(a.port, { host: 'app.test' });
    assert.equal(r1.status, 302);
    assert.equal(r1.headers.location, `${a.auth.url}/login?x=1`);
    const b = await setup({ path: '/relative', preserveLocationHeader: true });
    const r2 = await call(b.port, { host: 'app.test' });
    assert.equal(r2.headers.location, '/login?x=1');
  });

  it('forwards the body with forwardBody, still gives it to the app, and refuses one above maxBodySize with 401', async () => {
    const { port, app } = await setup({ forwardBody: true, maxBodySize: 10 });
    const ok = await call(port, {
      host: 'app.test',
      method: 'POST',
      body: 'hello',
      headers: { cookie: 'session=good' },
    });
    assert.equal(ok.status, 200);
    assert.equal(app.seen.length, 1);
    const big = await call(port, {
      host: 'app.test',
      method: 'POST',
      body: 'x'.repeat(11),
      headers: { cookie: 'session=good' },
    });
    assert.equal(big.status, 401);
    assert.equal(app.seen.length, 1);
  });

  it('answers 401 when the auth server’s answer exceeds maxResponseBodySize', async () => {
    const { port } = await setup({ path: '/big', maxResponseBodySize: 1000 });
    assert.equal((await call(port, { host: 'app.test' })).status, 401);
  });

  it('answers 500, promptly, when the auth server cannot be reached, as Traefik does', async () => {
    const { port, auth, app } = await setup();
    await auth.close();
    const started = Date.now();
    const r = await call(port, { host: 'app.test', headers: { cookie: 'session=good' } });
    assert.equal(r.status, 500);
    assert.ok(Date.now() - started < 5_000);
    assert.equal(app.seen.length, 0);
  });

  it('redirects a 401 to authSigninURL when set', async () => {
    const { port } = await setup({ path: '/big', authSigninURL: 'https://login.test/' });
    const r = await call(port, { host: 'app.test' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'https://login.test/');
  });
});

describe('forwardAuth over TLS', () => {
  it('verifies the auth server against tls.ca and presents tls.cert; refuses an unknown CA with 500', async () => {
    const ca = makeTestCa();
    cleanups.add(async () => ca.close());
    const leaf = ca.leaf(['127.0.0.1']);
    const client = ca.client('berth-node');
    const seenCn: string[] = [];
    const server = createHttpsServer(
      { key: leaf.keyPem, cert: leaf.certPem, ca: ca.caPem, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        seenCn.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN));
        res.writeHead(200, { 'remote-user': 'tls-user' });
        res.end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.add(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const address = `https://127.0.0.1:${(server.address() as AddressInfo).port}/check`;
    const app = await backendFor(cleanups, 'app');
    const b = body(
      {
        good: { rule: 'Host(`good.test`)', service: 'app', middlewares: ['good'] },
        bad: { rule: 'Host(`bad.test`)', service: 'app', middlewares: ['bad'] },
      },
      { app: service(app.url) },
    );
    b.http.middlewares = {
      good: {
        forwardAuth: {
          address,
          authResponseHeaders: ['Remote-User'],
          tls: { ca: ca.caPem, cert: client.certPem, key: client.keyPem },
        },
      },
      bad: { forwardAuth: { address, tls: { cert: client.certPem, key: client.keyPem } } },
    };
    const port = await applied(planeFor(cleanups), b);
    const ok = await call(port, { host: 'good.test' });
    assert.equal(ok.status, 200);
    assert.equal(app.seen[0]!.headers['remote-user'], 'tls-user');
    assert.deepEqual(seenCn, ['berth-node']);
    assert.equal((await call(port, { host: 'bad.test' })).status, 500);
    assert.equal(app.seen.length, 1);
  });
});

describe('forwardAuth against an auth server that never answers', () => {
  it('gives up after its timeout with 500, whether the head or the body is late', async () => {
    const hang = await backendFor(cleanups, 'hang', (req, res) => {
      if (req.url === '/body') {
        res.writeHead(200, { 'content-length': '10' });
        res.write('x');
      }
      // Otherwise nothing at all: the head never comes.
    });
    for (const path of ['/head', '/body']) {
      const h = await startHarness(build(forwardAuthWithin(300), { address: `${hang.url}${path}` }));
      cleanups.add(() => h.close());
      const started = Date.now();
      const r = await call(h.port, { host: 'app.test' });
      assert.equal(r.status, 500, path);
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 3_000, `${path}: ${took} ms`);
    }
  });
});

describe('forwardAuth request headers (pure)', () => {
  const input = {
    rawHeaders: [
      'Host',
      'a.test',
      'X-Forwarded-For',
      '10.0.0.9',
      'X-Forwarded-Prefix',
      '/p',
      'Connection',
      'x-drop',
      'X-Drop',
      '1',
    ],
    overrides: {},
    trusted: false,
    peerIp: '192.0.2.1',
    scheme: 'https' as const,
    method: 'PUT',
    host: 'a.test',
    uri: '/u?q',
    nodeName: 'n1',
  };

  it('drops untrusted X-Forwarded-* and Connection-named headers, and sets the forwarded facts', () => {
    const h = authRequestHeaders(input, undefined, undefined);
    assert.deepEqual(h['x-forwarded-for'], ['192.0.2.1']);
    assert.equal(h['x-forwarded-prefix'], undefined);
    assert.equal(h['x-drop'], undefined);
    assert.deepEqual(h['x-forwarded-proto'], ['https']);
    assert.deepEqual(h['x-forwarded-method'], ['PUT']);
    assert.deepEqual(h['x-forwarded-uri'], ['/u?q']);
  });

  it('appends the peer to a trusted X-Forwarded-For with trustForwardHeader', () => {
    const h = authRequestHeaders({ ...input, trusted: true }, true, undefined);
    assert.deepEqual(h['x-forwarded-for'], ['10.0.0.9, 192.0.2.1']);
    assert.deepEqual(h['x-forwarded-prefix'], ['/p']);
  });

  it('removes every X-Forwarded-* before setting its own with trustForwardHeader: false', () => {
    const h = authRequestHeaders({ ...input, trusted: true }, false, undefined);
    assert.deepEqual(h['x-forwarded-for'], ['192.0.2.1']);
    assert.equal(h['x-forwarded-prefix'], undefined);
    assert.equal(h['x-forwarded-server'], undefined);
  });

  it('canonicalises header names as Go does', () => {
    assert.equal(canonicalHeaderKey('x-auth-user'), 'X-Auth-User');
    assert.equal(canonicalHeaderKey('REMOTE-USER'), 'Remote-User');
  });
});
