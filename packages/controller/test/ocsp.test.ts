// OCSP stapling against a real responder (`openssl ocsp`): request building, response checks, refresh, failure keeps the last response.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildOcspRequest, readOcspResponse } from '../src/tls/ocsp.js';
import { httpOcspFetch, OcspStapler } from '../src/tls/ocsp-stapler.js';

const run = promisify(execFile);

/** `openssl ocsp` needs a fixed port: take a free one from the kernel and give it back. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function indexLine(status: 'V' | 'R', leafPem: string): string {
  const cert = new X509Certificate(leafPem);
  const d = new Date(cert.validTo);
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = (t: Date) =>
    `${two(t.getUTCFullYear() % 100)}${two(t.getUTCMonth() + 1)}${two(t.getUTCDate())}${two(t.getUTCHours())}${two(t.getUTCMinutes())}${two(t.getUTCSeconds())}Z`;
  const revoked = status === 'R' ? stamp(new Date(Date.now() - 60_000)) : '';
  return `${status}\t${stamp(d)}\t${revoked}\t${cert.serialNumber.toUpperCase()}\tunknown\t/CN=ocsp.test\n`;
}

function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - start > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 25);
    };
    tick();
  });
}

describe('OCSP stapling with openssl ocsp', () => {
  let dir: string;
  let port: number;
  let leafPem: string;
  let caPem: string;
  let chainPem: string;
  let responder: ChildProcess | null = null;

  /** One responder answering one request, then exiting (`-nrequest 1`). */
  async function startResponder(): Promise<void> {
    responder = spawn(
      'openssl',
      [
        'ocsp',
        '-index',
        join(dir, 'index.txt'),
        '-CA',
        join(dir, 'ca.pem'),
        '-rsigner',
        join(dir, 'ca.pem'),
        '-rkey',
        join(dir, 'ca.key'),
        '-url',
        `http://127.0.0.1:${port}`,
        '-nrequest',
        '1',
        '-nmin',
        '5',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // Probing the port would use up the one request: wait for the responder to say it listens.
    const child = responder;
    await new Promise<void>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`openssl ocsp did not start: ${text}`)), 10_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (/waiting for OCSP client connections/.test(text)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`openssl ocsp exited: ${text}`));
      });
    });
  }

  async function stopResponder(): Promise<void> {
    const child = responder;
    responder = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ocsp-'));
    port = await freePort();
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    await run('openssl', [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      join(dir, 'ca.key'),
      '-out',
      join(dir, 'ca.pem'),
      '-subj',
      '/CN=Berth Test OCSP CA',
      '-days',
      '30',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      join(dir, 'leaf.key'),
      '-out',
      join(dir, 'leaf.csr'),
      '-subj',
      '/CN=ocsp.test',
    ]);
    await writeFile(
      join(dir, 'ext.cnf'),
      `subjectAltName=DNS:ocsp.test\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:${port}\n`,
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      join(dir, 'leaf.csr'),
      '-CA',
      join(dir, 'ca.pem'),
      '-CAkey',
      join(dir, 'ca.key'),
      '-set_serial',
      '0x5EED1234',
      '-out',
      join(dir, 'leaf.pem'),
      '-days',
      '30',
      '-extfile',
      join(dir, 'ext.cnf'),
    ]);
    leafPem = await readFile(join(dir, 'leaf.pem'), 'utf8');
    caPem = await readFile(join(dir, 'ca.pem'), 'utf8');
    chainPem = leafPem + caPem;
    await writeFile(join(dir, 'index.txt'), indexLine('V', leafPem));
  });

  after(async () => {
    await stopResponder();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds a request openssl answers, and reads a good, signed response for this certificate', async () => {
    await startResponder();
    const der = await httpOcspFetch(`http://127.0.0.1:${port}`, buildOcspRequest(leafPem, caPem));
    await stopResponder();
    const answer = readOcspResponse(der, leafPem, caPem, new Date());
    assert.equal(answer.status, 'good');
    assert.ok(answer.nextUpdate !== undefined && answer.nextUpdate.getTime() > Date.now());

    // The same bytes checked against another issuer fail: a response is only stapled to its own certificate.
    const otherCa = await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'other.key'),
      '-out',
      '-',
      '-subj',
      '/CN=Other',
      '-days',
      '1',
    ]);
    assert.throws(() => readOcspResponse(der, leafPem, otherCa.stdout, new Date()), /signature|not about/);
    assert.throws(
      () => readOcspResponse(Buffer.from('garbage'), leafPem, caPem, new Date()),
      /does not parse/,
    );
  });

  it('staples a fetched response, keeps it when a refresh fails, and picks up a revocation', async () => {
    const logs: Array<{ obj: Record<string, unknown>; msg: string }> = [];
    const logger = {
      info: (obj: Record<string, unknown>, msg: string) => logs.push({ obj, msg }),
      warn: (obj: Record<string, unknown>, msg: string) => logs.push({ obj, msg }),
    } as unknown as ConstructorParameters<typeof OcspStapler>[0]['logger'];
    let updates = 0;
    const stapler = new OcspStapler({ logger, onUpdate: () => updates++, retryMs: 200, refreshMs: 200 });
    const fingerprint = createHash('sha256').update(new X509Certificate(leafPem).raw).digest('hex');
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await startResponder();
      stapler.track([{ certPem: chainPem, names: ['ocsp.test'] }]);
      await waitFor(() => stapler.get(fingerprint)?.response !== undefined, 'the first OCSP response');
      const first = stapler.get(fingerprint)!;
      assert.equal(first.state.status, 'good');
      assert.ok(first.state.nextUpdate);
      assert.equal(updates, 1);
      const der = Buffer.from(first.response!, 'base64');
      assert.equal(readOcspResponse(der, leafPem, caPem, new Date()).status, 'good');

      // The responder answered once and exited: the next refresh fails, the response stays stapled.
      await waitFor(() => logs.some((l) => l.obj['code'] === 'BERTH_TLS_OCSP_FETCH'), 'a failed refresh');
      assert.equal(stapler.get(fingerprint)?.response, first.response);
      assert.match(
        logs.find((l) => l.obj['code'] === 'BERTH_TLS_OCSP_FETCH')!.msg,
        /previous one stays stapled/,
      );

      await writeFile(join(dir, 'index.txt'), indexLine('R', leafPem));
      await startResponder();
      await waitFor(() => stapler.get(fingerprint)?.state.status === 'revoked', 'the revocation');
      assert.ok(updates >= 2);

      // A certificate that is no longer configured is forgotten.
      stapler.track([]);
      assert.equal(stapler.get(fingerprint), undefined);
    } finally {
      clearInterval(keepAlive);
      stapler.close();
      await stopResponder();
    }
  });

  it('reports an error state, and staples nothing, when the chain lacks the issuer', () => {
    const logs: string[] = [];
    const logger = {
      info: () => {},
      warn: (_: unknown, msg: string) => logs.push(msg),
    } as unknown as ConstructorParameters<typeof OcspStapler>[0]['logger'];
    const stapler = new OcspStapler({ logger, onUpdate: () => {} });
    stapler.track([{ certPem: leafPem, names: ['ocsp.test'] }]);
    const fingerprint = createHash('sha256').update(new X509Certificate(leafPem).raw).digest('hex');
    assert.deepEqual(stapler.get(fingerprint), { state: { status: 'error' } });
    assert.match(logs[0] ?? '', /does not include its issuer/);
    stapler.close();
  });
});
