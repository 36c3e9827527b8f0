// CA answers pebble does not give on demand (rate limits, 5xx without a problem document), from a
// small scripted ACME server speaking just enough of RFC 8555 for acme-client to reach newOrder.
// Also the storage file's safety: a foreign file is never overwritten, resolvers share one file.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AcmeError, AcmeErrorCodes } from '../src/acme/acme-errors.js';
import { parseRetryAfter, problemOf } from '../src/acme/acme-http.js';
import { AcmeResolver, type ChallengeBoard } from '../src/acme/acme-resolver.js';
import { AcmeStorage } from '../src/acme/acme-storage.js';
import type { AcmeResolverSettings } from '../src/acme/resolver-settings.js';
import { resolverSettings } from './support/acme-settings.js';
import { makeHttpsCertificate } from './support/pebble.js';

const board: ChallengeBoard = {
  present: async () => assert.fail('no challenge is expected'),
  cleanup: async () => {},
};

function settings(caServer: string, caFile: string, name = 'le'): AcmeResolverSettings {
  return resolverSettings(caServer, caFile, { name });
}

describe('CA problems from a scripted ACME server', () => {
  let dir: string;
  let caFile: string;
  let server: Server;
  let base: string;
  /** How /order answers. */
  let orderAnswer: { status: number; headers: Record<string, string>; body: string };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-acme-ca-'));
    const https = await makeHttpsCertificate(dir);
    caFile = join(dir, 'ca.pem');
    await writeFile(caFile, https.caPem);
    let nonce = 0;
    server = createServer(
      { cert: await readFile(https.certPath), key: await readFile(https.keyPath) },
      (req, res) => {
        req.resume();
        res.setHeader('replay-nonce', `nonce-${++nonce}`);
        res.setHeader('cache-control', 'no-store');
        const url = req.url ?? '';
        if (url === '/dir') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              newNonce: `${base}/nonce`,
              newAccount: `${base}/acct`,
              newOrder: `${base}/order`,
            }),
          );
        } else if (url === '/nonce') res.writeHead(200).end();
        else if (url === '/acct') {
          res.writeHead(201, { 'content-type': 'application/json', location: `${base}/acct/1` });
          res.end(JSON.stringify({ status: 'valid' }));
        } else if (url === '/order')
          res.writeHead(orderAnswer.status, orderAnswer.headers).end(orderAnswer.body);
        else res.writeHead(404).end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a rate limit is coded, carries Retry-After, and the renewal plan waits for it', async () => {
    orderAnswer = {
      status: 429,
      headers: { 'content-type': 'application/problem+json', 'retry-after': '120' },
      body: JSON.stringify({
        type: 'urn:ietf:params:acme:error:rateLimited',
        detail: 'too many certificates already issued for "example.test"',
      }),
    };
    const resolver = new AcmeResolver({
      settings: settings(`${base}/dir`, caFile),
      dataDir: join(dir, 'rl'),
      board,
    });
    const err = await resolver.obtain(['a.example.test']).catch((e: unknown) => e);
    resolver.close();
    assert.ok(err instanceof AcmeError, String(err));
    assert.equal(err.code, AcmeErrorCodes.RATE_LIMITED);
    assert.equal(err.retryAfterMs, 120_000);
    assert.match(
      err.message,
      /^certificate resolver "le" \(a\.example\.test\): rate limited by the CA, retry after 120 s: too many/,
    );
    const plan = resolver.plan(null, { count: 1, lastAttemptAt: Date.now(), retryAfterMs: err.retryAfterMs });
    assert.equal(plan.reason, 'retry-after');
    assert.ok(plan.at - Date.now() > 100_000);
  });

  it('a server error without a problem document is an order failure naming the step and status', async () => {
    orderAnswer = { status: 503, headers: {}, body: 'upstream down' };
    const resolver = new AcmeResolver({
      settings: settings(`${base}/dir`, caFile),
      dataDir: join(dir, '503'),
      board,
    });
    await assert.rejects(resolver.obtain(['b.example.test']), (err: unknown) => {
      assert.ok(err instanceof AcmeError, String(err));
      assert.equal(err.code, AcmeErrorCodes.ORDER_FAILED);
      assert.match(err.message, /order: the CA answered HTTP 503: HTTP 503/);
      return true;
    });
    resolver.close();
  });

  it('a rejected identifier is an order refusal with the CA’s words', async () => {
    orderAnswer = {
      status: 400,
      headers: { 'content-type': 'application/problem+json' },
      body: JSON.stringify({
        type: 'urn:ietf:params:acme:error:rejectedIdentifier',
        detail: 'Policy forbids issuing for name "localhost"',
      }),
    };
    const resolver = new AcmeResolver({
      settings: settings(`${base}/dir`, caFile),
      dataDir: join(dir, 'rej'),
      board,
    });
    await assert.rejects(resolver.obtain(['localhost']), (err: unknown) => {
      assert.ok(err instanceof AcmeError, String(err));
      assert.equal(err.code, AcmeErrorCodes.ORDER_REFUSED);
      assert.equal(err.problemType, 'urn:ietf:params:acme:error:rejectedIdentifier');
      assert.match(err.message, /Policy forbids issuing for name "localhost"/);
      return true;
    });
    resolver.close();
  });

  it('refuses to overwrite a storage file that is not Berth’s (a Traefik acme.json)', async () => {
    const dataDir = join(dir, 'foreign');
    const traefik = '{"le": {"Account": {"Email": "a@b.c"}, "Certificates": []}}\n';
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'acme.json'), traefik);
    const resolver = new AcmeResolver({ settings: settings(`${base}/dir`, caFile), dataDir, board });
    await assert.rejects(resolver.obtain(['c.example.test']), (err: unknown) => {
      assert.ok(err instanceof AcmeError, String(err));
      assert.equal(err.code, AcmeErrorCodes.STORAGE_UNREADABLE);
      assert.match(err.message, /not Berth's ACME storage/);
      return true;
    });
    resolver.close();
    assert.equal(await readFile(join(dataDir, 'acme.json'), 'utf8'), traefik);
  });
});

describe('ACME storage file', () => {
  it('keeps every resolver’s section when several update one file at once, mode 0600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-acme-store-'));
    try {
      const path = join(dir, 'acme.json');
      const writers = ['a', 'b', 'c', 'd'].map((name) => new AcmeStorage(path, name));
      await Promise.all(
        writers.flatMap((w, i) =>
          [0, 1, 2].map((n) =>
            w.update((s) => ({
              ...s,
              accounts: {
                ...s.accounts,
                [`https://ca${n}.test/dir`]: { keyPem: `k${i}${n}`, url: 'u', email: null, createdAt: '' },
              },
            })),
          ),
        ),
      );
      for (const w of writers) assert.equal(Object.keys((await w.read()).accounts).length, 3);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('stored certificates', () => {
  it('are reused only from the current CA, for the same names and key type, until they expire', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-acme-reuse-'));
    try {
      const staging = 'https://staging.ca.test/dir';
      const production = 'https://ca.test/dir';
      const now = Date.UTC(2026, 5, 1);
      const entry = (
        caServer: string,
        domains: string[],
        notAfter: number,
        keyType: 'EC256' | 'RSA2048' = 'EC256',
      ) => ({
        domains,
        keyType,
        caServer,
        certPem: `cert ${caServer} ${domains.join(',')} ${keyType}`,
        keyPem: 'key',
        notBefore: now - 10 * 86_400_000,
        notAfter,
        issuedAt: '',
      });
      const later = now + 30 * 86_400_000;
      await new AcmeStorage(join(dir, 'acme.json'), 'le').update((s) => ({
        ...s,
        certificates: [
          entry(staging, ['a.test'], later),
          entry(production, ['b.test', 'c.test'], later, 'RSA2048'),
          entry(production, ['old.test'], now - 1),
        ],
      }));
      const resolverFor = (caServer: string) =>
        new AcmeResolver({
          settings: settings(caServer, '/nonexistent'),
          dataDir: dir,
          board,
          now: () => now,
        });
      assert.equal((await resolverFor(staging).stored(['a.test']))?.caServer, staging);
      assert.equal(await resolverFor(production).stored(['a.test']), null);
      assert.equal(await resolverFor(production).stored(['c.test', 'b.test']), null);
      assert.equal(
        (await resolverFor(production).stored(['C.test', 'b.test'], 'RSA2048'))?.keyType,
        'RSA2048',
      );
      assert.equal(await resolverFor(production).stored(['old.test']), null);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('CA answers, read', () => {
  it('takes the problem type, detail and Retry-After from error answers and invalid objects', () => {
    assert.deepEqual(
      problemOf({
        status: 429,
        headers: { 'retry-after': '30' },
        data: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down' },
      }),
      {
        type: 'urn:ietf:params:acme:error:rateLimited',
        detail: 'slow down',
        status: 429,
        retryAfterMs: 30_000,
      },
    );
    assert.deepEqual(
      problemOf({
        status: 200,
        headers: {},
        data: {
          status: 'invalid',
          challenges: [
            { type: 'http-01', error: { type: 'urn:ietf:params:acme:error:connection', detail: 'refused' } },
          ],
        },
      }),
      { type: 'urn:ietf:params:acme:error:connection', detail: 'refused', status: 200, retryAfterMs: null },
    );
    assert.equal(problemOf({ status: 200, headers: {}, data: { status: 'valid' } }), null);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 12:05:00 GMT', now), 300_000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter(undefined, now), null);
  });
});
