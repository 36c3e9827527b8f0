// OCSP stapling against a real responder (`openssl ocsp`): request building, response checks, refresh, failure keeps the last response.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildOcspRequest, readOcspResponse } from '../src/tls/ocsp.js';
import { httpOcspFetch, OcspStapler } from '../src/tls/ocsp-stapler.js';
import { createOcspPki, freePort, OcspResponder, writeIndex } from './support/openssl-ocsp.js';

const run = promisify(execFile);

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
  let responder: OcspResponder;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ocsp-'));
    port = await freePort();
    ({ leafPem, caPem, chainPem } = await createOcspPki(dir, port));
    responder = new OcspResponder(dir, port);
  });

  after(async () => {
    await responder.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds a request openssl answers, and reads a good, signed response for this certificate', async () => {
    await responder.start();
    const der = await httpOcspFetch(`http://127.0.0.1:${port}`, buildOcspRequest(leafPem, caPem));
    await responder.stop();
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
      await responder.start();
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

      await writeIndex(dir, 'R', leafPem);
      await responder.start();
      await waitFor(() => stapler.get(fingerprint)?.state.status === 'revoked', 'the revocation');
      assert.ok(updates >= 2);

      // A certificate that is no longer configured is forgotten.
      stapler.track([]);
      assert.equal(stapler.get(fingerprint), undefined);
    } finally {
      clearInterval(keepAlive);
      stapler.close();
      await responder.stop();
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

describe('OCSP fetch', () => {
  it('refuses a response body larger than 64 KiB and an HTTP error, without hanging', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/ocsp-response' });
        const chunk = Buffer.alloc(16 * 1024);
        let sent = 0;
        const push = () => {
          while (sent < 1024 && res.write(chunk)) sent++;
          if (sent < 1024) res.once('drain', push);
          else res.end();
        };
        push();
      } else {
        res.writeHead(500).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      await assert.rejects(
        httpOcspFetch(`http://127.0.0.1:${port}/big`, Buffer.from('x')),
        /larger than 64 KiB/,
      );
      await assert.rejects(httpOcspFetch(`http://127.0.0.1:${port}/err`, Buffer.from('x')), /HTTP 500/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
