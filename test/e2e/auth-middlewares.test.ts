// forwardAuth, digestAuth and ignored headers options through the whole system: files read by the controller, a real node, real clients.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { Cluster } from '../helpers/cluster.js';
import { type Backend, startBackend } from '../helpers/http.js';
import { makeCa, makeLeaf } from '../helpers/tls.js';

const run = promisify(execFile);
const md5 = (t: string) => createHash('md5').update(t).digest('hex');

function send(
  port: number,
  host: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, headers: { host, ...headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('auth middlewares, configured through the controller', () => {
  let cluster: Cluster;
  let app: Backend;
  let auth: Server;
  let dir: string;
  let port: number;
  const clientCns: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-auth-e2e-'));
    const ca = await makeCa(dir);
    const serverCert = await makeLeaf(dir, ca, 'auth', { names: ['localhost'] });
    const clientCert = await makeLeaf(dir, ca, 'node-client', { names: ['berth-node'] });
    // An Authelia-like auth server over TLS that wants the node's client certificate.
    auth = createServer(
      { key: serverCert.keyPem, cert: serverCert.certPem, ca: ca.certPem, requestCert: true },
      (req, res) => {
        clientCns.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN));
        if (/session=good/.test(req.headers.cookie ?? '')) {
          res.writeHead(200, { 'remote-user': 'alice' });
          res.end();
          return;
        }
        const rd = `${req.headers['x-forwarded-proto']}://${req.headers['x-forwarded-host']}${req.headers['x-forwarded-uri']}`;
        res.writeHead(302, { location: `https://login.test/?rd=${encodeURIComponent(rd)}` });
        res.end();
      },
    );
    await new Promise<void>((resolve) => auth.listen(0, 'localhost', resolve));
    const authPort = (auth.address() as AddressInfo).port;
    app = await startBackend('app');
    await writeFile(join(dir, 'users.htdigest'), `test:traefik:${md5('test:traefik:secret')}\n`);
    cluster = await Cluster.create();
    await cluster.writeDynamic(
      'auth.yml',
      `http:
  routers:
    portal:
      rule: Host(\`portal.test\`)
      service: app
      middlewares: [sso, hdr]
    digest:
      rule: Host(\`digest.test\`)
      service: app
      middlewares: [digest]
  middlewares:
    sso:
      forwardAuth:
        address: https://localhost:${authPort}/api/authz/forward-auth
        trustForwardHeader: true
        authResponseHeaders: [Remote-User]
        tls:
          ca: ${ca.certFile}
          cert: ${clientCert.certFile}
          key: ${clientCert.keyFile}
    digest:
      digestAuth:
        usersFile: ${join(dir, 'users.htdigest')}
        headerField: X-WebAuth-User
    hdr:
      headers:
        sslRedirect: true
        featurePolicy: "camera 'none'"
        customResponseHeaders:
          X-Hdr: 'yes'
  services:
    app:
      loadBalancer:
        servers:
          - url: ${app.url}
`,
    );
    await cluster.startController();
    await cluster.startNode('node-1');
    port = await cluster.webPort('node-1');
  });

  after(async () => {
    await cluster?.close();
    await app?.close();
    auth?.closeAllConnections();
    await new Promise<void>((resolve) => (auth ? auth.close(() => resolve()) : resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sends a visitor without a session to the login page, and lets one with a session in as the user', async () => {
    const away = await send(port, 'portal.test');
    assert.equal(away.status, 302);
    assert.equal(
      away.headers.location,
      `https://login.test/?rd=${encodeURIComponent('http://portal.test/')}`,
    );
    const inside = await send(port, 'portal.test', { cookie: 'session=good', 'remote-user': 'mallory' });
    assert.equal(inside.status, 200);
    assert.equal(app.lastHeaders?.['remote-user'], 'alice');
    assert.equal(inside.headers['x-hdr'], 'yes', 'the headers middleware with ignored options still works');
    assert.ok(clientCns.length >= 2 && clientCns.every((cn) => cn === 'berth-node'));
  });

  it('serves digestAuth users read from a usersFile to curl --digest', async () => {
    const { stdout } = await run('curl', [
      ...['-s', '--digest', '-u', 'test:secret', '-H', 'Host: digest.test', '-o', '/dev/null'],
      ...['-w', '%{http_code}', `http://127.0.0.1:${port}/`],
    ]);
    assert.equal(stdout, '200');
    assert.equal((await send(port, 'digest.test')).status, 401);
  });

  it('reports the ignored headers options as warnings naming them', async () => {
    const errors =
      await cluster.api<{ code: string; path: string; severity?: string; message: string }[]>(
        '/api/v1/errors',
      );
    const ignored = errors.filter((e) => e.code === 'BERTH_CONFIG_IGNORED_FIELD');
    assert.deepEqual(ignored.map((e) => [e.path, e.severity]).sort(), [
      ['http.middlewares.hdr.headers.featurePolicy', 'warning'],
      ['http.middlewares.hdr.headers.sslRedirect', 'warning'],
    ]);
  });
});
