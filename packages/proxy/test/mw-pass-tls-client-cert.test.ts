// passTLSClientCert through a real data plane: client certificates over TLS become Traefik's X-Forwarded-Tls-Client-Cert(-Info).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CIPHER_PROFILES, type HttpMiddleware } from '@berth/config';
import { goQueryEscape } from '../src/http/middlewares/pass-tls-client-cert.js';
import { backendFor, Cleanups, planeFor, portOf } from './support/plane.js';
import { body, service } from './support/snapshot.js';
import { makeTestCa, type TestCa } from './support/tls-pki.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

let dir: string;
let ca: TestCa;
let client: { cert: string; key: string; caPem: string };

/** A CA with a many-part name, and a client certificate with every DN field and every kind of SAN. */
function makeClient(): { cert: string; key: string; caPem: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(
    ...[
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
    ],
    ...[
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/DC=org/DC=cheese/C=FR/ST=Ile-de-France/L=Paris/O=Cheese/CN=Simple Signing CA',
    ],
    ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  );
  run(
    ...[
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'c.key',
      '-out',
      'c.csr',
    ],
    ...[
      '-subj',
      '/DC=org/DC=cheese/C=FR/C=US/ST=Ile-de-France/L=Paris/O=Cheese/O=Cheese 2/OU=Simple Signing Section/OU=Simple Signing Section 2/CN=*.example.org/serialNumber=42',
    ],
  );
  writeFileSync(
    join(dir, 'c.ext'),
    'subjectAltName=DNS:*.example.org,DNS:*.example.net,email:test@example.org,IP:10.0.1.0,IP:2001:db8::1,URI:spiffe://cheese.org/a\nextendedKeyUsage=clientAuth\n',
  );
  run(
    ...[
      'x509',
      '-req',
      '-in',
      'c.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      '1234567890123456789',
    ],
    ...['-out', 'c.pem', '-days', '1', '-extfile', 'c.ext'],
  );
  const read = (n: string) => readFileSync(join(dir, n), 'utf8');
  return { cert: read('c.pem'), key: read('c.key'), caPem: read('ca.pem') };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-ptcc-'));
  ca = makeTestCa();
  client = makeClient();
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
  ca.close();
});

async function plane(
  config: Record<string, unknown>,
  extra: Record<string, HttpMiddleware> = {},
  use = ['pass'],
) {
  const backend = await backendFor(cleanups, 'app');
  const b = body(
    { app: { rule: 'Host(`app.test`)', service: 'app', tls: { options: 'mtls' }, middlewares: use } },
    { app: service(backend.url) },
    { websecure: ':443' },
  );
  b.http.middlewares = { pass: { passTLSClientCert: config }, ...extra };
  b.tls = {
    certificates: [ca.leaf(['app.test'])],
    defaultCertificate: ca.leaf(['berth-default']),
    options: {
      default: CIPHER_PROFILES.strict,
      mtls: {
        ...CIPHER_PROFILES.strict,
        clientAuth: { clientAuthType: 'VerifyClientCertIfGiven', caFiles: [client.caPem] },
      },
    },
    sessionTicketKeys: [Buffer.alloc(48, 3).toString('base64')],
  };
  const p = planeFor(cleanups, { entryPointOverrides: { websecure: '127.0.0.1:0' } });
  const result = await p.apply(b);
  assert.ok(result.ok);
  return { port: portOf(p, 'websecure'), backend };
}

function get(port: number, withCert: boolean, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: 'app.test',
        headers: { host: 'app.test', ...headers },
        rejectUnauthorized: false,
        agent: false,
        ...(withCert ? { cert: client.cert, key: client.key } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('passTLSClientCert through a data plane', () => {
  it('passes the certificate as Traefik does: base64 DER without PEM armour or line breaks', async () => {
    const { port, backend } = await plane({ pem: true });
    assert.equal(await get(port, true), 200);
    const der = new X509Certificate(client.cert).raw.toString('base64');
    assert.equal(backend.seen[0]!.headers['x-forwarded-tls-client-cert'], der);
  });

  it('passes every selected fact in Traefik’s order and encoding', async () => {
    const all = {
      country: true,
      province: true,
      locality: true,
      organization: true,
      commonName: true,
      serialNumber: true,
      domainComponent: true,
    };
    const { port, backend } = await plane({
      info: {
        notAfter: true,
        notBefore: true,
        sans: true,
        serialNumber: true,
        subject: { ...all, organizationalUnit: true },
        issuer: all,
      },
    });
    assert.equal(await get(port, true), 200);
    const x = new X509Certificate(client.cert);
    const nb = Math.floor(Date.parse(x.validFrom) / 1000);
    const na = Math.floor(Date.parse(x.validTo) / 1000);
    const expected =
      'Subject="DC=org,DC=cheese,C=FR,C=US,ST=Ile-de-France,L=Paris,O=Cheese,O=Cheese 2,OU=Simple Signing Section,OU=Simple Signing Section 2,SN=42,CN=*.example.org";' +
      'Issuer="DC=org,DC=cheese,C=FR,ST=Ile-de-France,L=Paris,O=Cheese,CN=Simple Signing CA";' +
      `SerialNumber="1234567890123456789";NB="${nb}";NA="${na}";` +
      'SAN="*.example.org,*.example.net,test@example.org,10.0.1.0,2001:db8::1,spiffe://cheese.org/a"';
    const got = backend.seen[0]!.headers['x-forwarded-tls-client-cert-info'] as string;
    assert.equal(got, goQueryEscape(expected));
    assert.equal(decodeURIComponent(got.replace(/\+/g, ' ')), expected);
  });

  it('sets nothing without a client certificate, and a client’s own header never passes', async () => {
    const { port, backend } = await plane({ pem: true, info: { sans: true } });
    assert.equal(await get(port, false, { 'x-forwarded-tls-client-cert': 'forged' }), 200);
    assert.equal(backend.seen[0]!.headers['x-forwarded-tls-client-cert'], undefined);
    assert.equal(backend.seen[0]!.headers['x-forwarded-tls-client-cert-info'], undefined);
  });

  it('works over HTTP/2 too, and forwardAuth sees the headers as the app does', async () => {
    const auth = await backendFor(cleanups, 'auth', (req, res) => {
      res.writeHead(req.headers['x-forwarded-tls-client-cert'] ? 200 : 403, { 'remote-user': 'cert-user' });
      res.end();
    });
    const { port, backend } = await plane(
      { pem: true },
      { auth: { forwardAuth: { address: auth.url, authResponseHeaders: ['Remote-User'] } } },
      ['pass', 'auth'],
    );
    const session = h2connect(`https://127.0.0.1:${port}`, {
      servername: 'app.test',
      rejectUnauthorized: false,
      cert: client.cert,
      key: client.key,
    });
    cleanups.add(async () => session.close());
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ':path': '/h2?x=1', ':authority': 'app.test' });
      stream.on('response', (h) => resolve(Number(h[':status'])));
      stream.on('error', reject);
      stream.resume();
    });
    assert.equal(status, 200);
    const der = new X509Certificate(client.cert).raw.toString('base64');
    assert.equal(backend.seen[0]!.headers['x-forwarded-tls-client-cert'], der);
    assert.equal(backend.seen[0]!.headers['remote-user'], 'cert-user');
    const asked = auth.seen[0]!;
    assert.equal(asked.headers['x-forwarded-uri'], '/h2?x=1');
    assert.equal(asked.headers['x-forwarded-host'], 'app.test');
    assert.equal(asked.headers['x-forwarded-proto'], 'https');
    assert.ok(!asked.rawHeaders.some((h) => h.startsWith(':')));
  });

  it('escapes as Go’s url.QueryEscape', () => {
    assert.equal(goQueryEscape('a b="c";d,e*(f)!~'), 'a+b%3D%22c%22%3Bd%2Ce%2A%28f%29%21~');
  });
});
