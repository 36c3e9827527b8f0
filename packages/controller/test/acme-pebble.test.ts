// The ACME client against a real CA: Debian's pebble, its names resolved by pebble-challtestsrv to
// 127.0.0.1 where a test ChallengeBoard answers HTTP-01 on pebble's httpPort.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, createServer as createTlsServer } from 'node:tls';
import { AcmeError, AcmeErrorCodes } from '../src/acme/acme-errors.js';
import { AcmeResolver, type ChallengeBoard, type ChallengeMaterial } from '../src/acme/acme-resolver.js';
import type { AcmeResolverSettings } from '../src/acme/resolver-settings.js';
import { resolverSettings } from './support/acme-settings.js';
import { freePort, type Pebble, pebbleSkip, startPebble } from './support/pebble.js';
import { pemBlocks } from './support/pem-blocks.js';

const skip = await pebbleSkip();

/** Serves HTTP-01 answers on 127.0.0.1:port, as every proxy node will; `wrong` serves a bad answer. */
class TestBoard implements ChallengeBoard {
  readonly answers = new Map<string, string>();
  presented: ChallengeMaterial[] = [];
  cleaned: ChallengeMaterial[] = [];
  wrong = false;
  fail: string | null = null;
  readonly server: Server = createServer((req, res) => {
    const token = req.url?.startsWith('/.well-known/acme-challenge/') ? req.url.slice(28) : null;
    const answer = token === null ? undefined : this.answers.get(token);
    if (answer === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(this.wrong ? `${answer}.wrong` : answer);
  });

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  async present(challenge: ChallengeMaterial): Promise<void> {
    if (this.fail !== null) throw new Error(this.fail);
    this.presented.push(challenge);
    if (challenge.type === 'http-01') this.answers.set(challenge.token, challenge.keyAuthorization);
  }

  async cleanup(challenge: ChallengeMaterial): Promise<void> {
    this.cleaned.push(challenge);
    if (challenge.type === 'http-01') this.answers.delete(challenge.token);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function settingsFor(
  pebble: Pebble,
  caFile: string,
  extra: Partial<AcmeResolverSettings> = {},
): AcmeResolverSettings {
  return resolverSettings(pebble.directoryUrl, caFile, { email: 'ops@example.test', ...extra });
}

const FAST_POLLING = { attempts: 20, minMs: 100, maxMs: 500 };

/** The PEM blocks of a chain, leaf first. */
/** A real TLS handshake with the certificate, verified against pebble's root for `servername`. */
async function handshake(
  certPem: string,
  keyPem: string,
  rootPem: string,
  servername: string,
): Promise<string> {
  const server = createTlsServer({ cert: certPem, key: keyPem }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername, ca: rootPem }, () => {
        const subject = socket.getPeerCertificate().subjectaltname ?? '';
        socket.destroy();
        resolve(subject);
      });
      socket.on('error', reject);
    });
  } finally {
    server.close();
  }
}

describe('ACME HTTP-01 against pebble', { skip }, () => {
  let pebble: Pebble;
  let board: TestBoard;
  let dir: string;
  let caFile: string;

  before(async () => {
    pebble = await startPebble();
    board = new TestBoard();
    await board.listen(pebble.httpPort);
    dir = await mkdtemp(join(tmpdir(), 'berth-acme-'));
    caFile = join(dir, 'pebble-https-ca.pem');
    await writeFile(caFile, pebble.httpsCaPem);
  });

  after(async () => {
    await board?.close();
    await pebble?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('obtains a certificate chaining to pebble’s root, stores it 0600, and a restart orders nothing', async () => {
    await pebble.addA('app.example.test');
    await pebble.addA('www.example.test');
    const dataDir = join(dir, 'data-ok');
    const resolver = new AcmeResolver({
      settings: settingsFor(pebble, caFile),
      dataDir,
      board,
      polling: FAST_POLLING,
    });
    const cert = await resolver.ensureCertificate(['App.example.test', 'www.example.test']);
    resolver.close();
    assert.deepEqual(cert.domains, ['app.example.test', 'www.example.test']);
    assert.equal(resolver.status.ordersPlaced, 1);
    assert.deepEqual(board.presented.map((c) => c.domain).sort(), ['app.example.test', 'www.example.test']);
    // Every answer withdrawn after the order.
    assert.equal(board.answers.size, 0);
    assert.equal(board.cleaned.length, board.presented.length);

    const [leaf, ...intermediates] = pemBlocks(cert.certPem);
    const root = new X509Certificate(pebble.rootPem);
    assert.ok(leaf && intermediates.length > 0);
    assert.equal(leaf.checkHost('app.example.test'), 'app.example.test');
    assert.equal(leaf.checkHost('www.example.test'), 'www.example.test');
    // leaf → intermediates → pebble's root.
    const chain = [leaf, ...intermediates];
    for (let i = 0; i + 1 < chain.length; i++)
      assert.ok(chain[i]?.verify((chain[i + 1] as X509Certificate).publicKey));
    assert.ok(chain.at(-1)?.verify(root.publicKey), 'the chain ends at pebble’s root');
    assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.match(
      await handshake(cert.certPem, cert.keyPem, pebble.rootPem, 'www.example.test'),
      /www\.example\.test/,
    );
    assert.equal(cert.notAfter, Date.parse(leaf.validTo));

    const file = join(dataDir, 'acme.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const stored = JSON.parse(await readFile(file, 'utf8'));
    assert.equal(Object.keys(stored.resolvers.le.accounts)[0], pebble.directoryUrl);
    assert.deepEqual(stored.resolvers.le.pendingAccountKeys, {});

    // A new instance on the same data dir (a controller restart): the stored certificate, no order.
    const presentedBefore = board.presented.length;
    const restarted = new AcmeResolver({
      settings: settingsFor(pebble, caFile),
      dataDir,
      board,
      polling: FAST_POLLING,
    });
    const again = await restarted.ensureCertificate(['www.example.test', 'app.example.test']);
    restarted.close();
    assert.equal(again.certPem, cert.certPem);
    assert.equal(restarted.status.ordersPlaced, 0);
    assert.equal(board.presented.length, presentedBefore);
  });

  it('orders RSA keys when the resolver asks for them, one order for concurrent callers', async () => {
    await pebble.addA('rsa.example.test');
    const dataDir = join(dir, 'data-rsa');
    const resolver = new AcmeResolver({
      settings: settingsFor(pebble, caFile, { keyType: 'RSA2048' }),
      dataDir,
      board,
      polling: FAST_POLLING,
    });
    // Two callers asking at once share one order.
    const [cert, same] = await Promise.all([
      resolver.obtain(['rsa.example.test']),
      resolver.obtain(['RSA.example.test.']),
    ]);
    resolver.close();
    assert.equal(same, cert);
    assert.equal(resolver.status.ordersPlaced, 1);
    const [leaf] = pemBlocks(cert.certPem);
    assert.equal(leaf?.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(leaf?.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  });

  it('keeps the account across instances and updates its contact when the e-mail changes', async () => {
    await pebble.addA('one.example.test');
    await pebble.addA('two.example.test');
    const dataDir = join(dir, 'data-email');
    const first = new AcmeResolver({
      settings: settingsFor(pebble, caFile),
      dataDir,
      board,
      polling: FAST_POLLING,
    });
    await first.obtain(['one.example.test']);
    first.close();
    const before = (await first.storage.read()).accounts[pebble.directoryUrl];
    const second = new AcmeResolver({
      settings: settingsFor(pebble, caFile, { email: 'security@example.test' }),
      dataDir,
      board,
      polling: FAST_POLLING,
    });
    await second.obtain(['two.example.test']);
    second.close();
    const after = (await second.storage.read()).accounts[pebble.directoryUrl];
    assert.equal(after?.url, before?.url);
    assert.equal(after?.keyPem, before?.keyPem);
    assert.equal(before?.email, 'ops@example.test');
    assert.equal(after?.email, 'security@example.test');
    // Both certificates kept, each under its own names.
    assert.deepEqual(
      (await second.storage.read()).certificates.map((c) => c.domains),
      [['one.example.test'], ['two.example.test']],
    );
  });

  it('a challenge that cannot succeed fails with a coded error naming resolver and domain, and is withdrawn', async () => {
    await pebble.addA('wrong.example.test');
    board.wrong = true;
    const resolver = new AcmeResolver({
      settings: settingsFor(pebble, caFile),
      dataDir: join(dir, 'data-wrong'),
      board,
      polling: FAST_POLLING,
    });
    try {
      const err = await resolver.obtain(['wrong.example.test']).then(
        () => assert.fail('the order succeeded with a wrong key authorization'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AcmeError, String(err));
      assert.equal(err.code, AcmeErrorCodes.CHALLENGE_FAILED);
      assert.equal(err.resolver, 'le');
      assert.deepEqual(err.domains, ['wrong.example.test']);
      assert.equal(err.problemType, 'urn:ietf:params:acme:error:unauthorized');
      assert.match(
        err.message,
        /certificate resolver "le" \(wrong\.example\.test\): http-01 challenge for wrong\.example\.test failed/,
      );
      assert.equal(board.answers.size, 0);
      assert.equal(await resolver.stored(['wrong.example.test']), null);
    } finally {
      board.wrong = false;
      resolver.close();
    }
  });

  it('a board that cannot serve the challenge fails the order with its reason', async () => {
    await pebble.addA('unserved.example.test');
    board.fail = 'node "edge-2" did not ACK snapshot 42 within 30 s';
    const resolver = new AcmeResolver({
      settings: settingsFor(pebble, caFile),
      dataDir: join(dir, 'data-unserved'),
      board,
      polling: FAST_POLLING,
    });
    try {
      await assert.rejects(resolver.obtain(['unserved.example.test']), (err: unknown) => {
        assert.ok(err instanceof AcmeError);
        assert.equal(err.code, AcmeErrorCodes.CHALLENGE_NOT_SERVED);
        assert.match(err.message, /node "edge-2" did not ACK snapshot 42/);
        return true;
      });
    } finally {
      board.fail = null;
      resolver.close();
    }
  });

  it('an unreachable CA is reported as such, naming the directory URL', async () => {
    const port = await freePort();
    const caServer = `https://127.0.0.1:${port}/dir`;
    const resolver = new AcmeResolver({
      settings: settingsFor(pebble, caFile, { caServer }),
      dataDir: join(dir, 'data-unreachable'),
      board,
      polling: FAST_POLLING,
    });
    await assert.rejects(resolver.obtain(['app.example.test']), (err: unknown) => {
      assert.ok(err instanceof AcmeError, String(err));
      assert.equal(err.code, AcmeErrorCodes.CA_UNREACHABLE);
      assert.ok(err.message.includes(caServer), err.message);
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
    resolver.close();
  });

  it('wildcards are refused up front with a coded error: they need DNS-01', async () => {
    const resolver = new AcmeResolver({
      settings: settingsFor(pebble, caFile),
      dataDir: join(dir, 'data-refused'),
      board,
    });
    await assert.rejects(resolver.obtain(['*.example.test']), (err: unknown) => {
      assert.ok(err instanceof AcmeError);
      assert.equal(err.code, AcmeErrorCodes.CHALLENGE_UNAVAILABLE);
      assert.match(
        err.message,
        /\*\.example\.test: wildcard names need dnsChallenge \(this resolver uses http-01\)/,
      );
      return true;
    });
  });
});

describe('ACME against pebble rejecting half of all nonces', { skip }, () => {
  it('still obtains the certificate (badNonce answers are retried)', async () => {
    const pebble = await startPebble({ env: { PEBBLE_WFE_NONCEREJECT: '50' } });
    const board = new TestBoard();
    const dir = await mkdtemp(join(tmpdir(), 'berth-acme-nonce-'));
    try {
      await board.listen(pebble.httpPort);
      const caFile = join(dir, 'ca.pem');
      await writeFile(caFile, pebble.httpsCaPem);
      await pebble.addA('nonce.example.test');
      const resolver = new AcmeResolver({
        settings: settingsFor(pebble, caFile),
        dataDir: join(dir, 'data'),
        board,
        polling: FAST_POLLING,
      });
      const cert = await resolver.obtain(['nonce.example.test']);
      resolver.close();
      assert.equal(pemBlocks(cert.certPem)[0]?.checkHost('nonce.example.test'), 'nonce.example.test');
    } finally {
      await board.close();
      await pebble.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ACME against pebble requiring external account binding', { skip }, () => {
  it('registers with the EAB key, and without it the refusal is coded', async () => {
    const hmac = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';
    const pebble = await startPebble({ eabKeys: { 'kid-1': hmac } });
    const board = new TestBoard();
    const dir = await mkdtemp(join(tmpdir(), 'berth-acme-eab-'));
    try {
      await board.listen(pebble.httpPort);
      const caFile = join(dir, 'ca.pem');
      await writeFile(caFile, pebble.httpsCaPem);
      await pebble.addA('eab.example.test');
      const without = new AcmeResolver({
        settings: settingsFor(pebble, caFile),
        dataDir: join(dir, 'data-without'),
        board,
        polling: FAST_POLLING,
      });
      await assert.rejects(without.obtain(['eab.example.test']), (err: unknown) => {
        assert.ok(err instanceof AcmeError, String(err));
        assert.equal(err.code, AcmeErrorCodes.ACCOUNT_REFUSED);
        assert.match(err.message, /account registration refused/);
        return true;
      });
      without.close();
      const withEab = new AcmeResolver({
        settings: settingsFor(pebble, caFile, { eab: { kid: 'kid-1', hmacEncoded: hmac } }),
        dataDir: join(dir, 'data-with'),
        board,
        polling: FAST_POLLING,
      });
      const cert = await withEab.obtain(['eab.example.test']);
      withEab.close();
      assert.equal(pemBlocks(cert.certPem)[0]?.checkHost('eab.example.test'), 'eab.example.test');
    } finally {
      await board.close();
      await pebble.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
