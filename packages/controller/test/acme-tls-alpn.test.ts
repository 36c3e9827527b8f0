// TLS-ALPN-01 (RFC 8737) against pebble: a test ChallengeBoard answers `acme-tls/1` handshakes on
// pebble's tlsPort with the challenge certificate the resolver made, as a node's terminator will.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSecureContext, createServer, type SecureContext, type Server } from 'node:tls';
import * as acme from 'acme-client';
import { AcmeError, AcmeErrorCodes } from '../src/acme/acme-errors.js';
import {
  AcmeResolver,
  type ChallengeBoard,
  type ChallengeMaterial,
  type TlsAlpn01Challenge,
} from '../src/acme/acme-resolver.js';
import { resolverSettings } from './support/acme-settings.js';
import { type Pebble, pebbleSkip, startPebble } from './support/pebble.js';
import { pemBlocks } from './support/pem-blocks.js';

const skip = await pebbleSkip();
const FAST_POLLING = { attempts: 20, minMs: 100, maxMs: 500 };

/** Answers ALPN `acme-tls/1` for each presented name with its challenge certificate, nothing else. */
class TlsAlpnBoard implements ChallengeBoard {
  readonly contexts = new Map<string, SecureContext>();
  readonly presented: TlsAlpn01Challenge[] = [];
  readonly cleaned: ChallengeMaterial[] = [];
  /** Serve another name's certificate instead (a wrong answer). */
  swap: string | null = null;
  readonly handshakes: string[] = [];
  readonly server: Server = createServer({
    SNICallback: (servername, done) => {
      const context = this.contexts.get(this.swap ?? servername.toLowerCase());
      if (context) done(null, context);
      else done(new Error(`no challenge certificate for ${servername}`));
    },
    ALPNCallback: ({ servername, protocols }) => {
      this.handshakes.push(`${servername} ${protocols.join(',')}`);
      return protocols.includes('acme-tls/1') ? 'acme-tls/1' : undefined;
    },
  });

  listen(port: number): Promise<void> {
    this.server.on('tlsClientError', () => {});
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  async present(challenge: ChallengeMaterial): Promise<void> {
    assert.equal(challenge.type, 'tls-alpn-01');
    if (challenge.type !== 'tls-alpn-01') return;
    this.presented.push(challenge);
    this.contexts.set(
      challenge.domain,
      createSecureContext({ cert: challenge.certPem, key: challenge.keyPem }),
    );
  }

  async cleanup(challenge: ChallengeMaterial): Promise<void> {
    this.cleaned.push(challenge);
    this.contexts.delete(challenge.domain);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('ACME TLS-ALPN-01 against pebble', { skip }, () => {
  let pebble: Pebble;
  let board: TlsAlpnBoard;
  let dir: string;
  let caFile: string;

  before(async () => {
    pebble = await startPebble();
    board = new TlsAlpnBoard();
    await board.listen(pebble.tlsPort);
    dir = await mkdtemp(join(tmpdir(), 'berth-acme-alpn-'));
    caFile = join(dir, 'pebble-https-ca.pem');
    await writeFile(caFile, pebble.httpsCaPem);
  });

  after(async () => {
    await board?.close();
    await pebble?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const resolverFor = (dataDir: string) =>
    new AcmeResolver({
      settings: resolverSettings(pebble.directoryUrl, caFile, { challenge: { type: 'tls-alpn-01' } }),
      dataDir: join(dir, dataDir),
      board,
      polling: FAST_POLLING,
    });

  it('obtains a certificate chaining to pebble’s root through acme-tls/1 handshakes', async () => {
    await pebble.addA('alpn.example.test');
    await pebble.addA('alpn2.example.test');
    const resolver = resolverFor('data-ok');
    const cert = await resolver.obtain(['alpn.example.test', 'alpn2.example.test']);
    resolver.close();

    // One challenge certificate per name, each carrying the critical acmeIdentifier extension.
    assert.deepEqual(board.presented.map((c) => c.domain).sort(), [
      'alpn.example.test',
      'alpn2.example.test',
    ]);
    for (const challenge of board.presented) {
      const alpnCert = new X509Certificate(challenge.certPem);
      assert.equal(alpnCert.checkHost(challenge.domain), challenge.domain);
      assert.ok(alpnCert.checkPrivateKey(createPrivateKey(challenge.keyPem)));
      assert.equal(challenge.resolver, 'le');
    }
    assert.ok(
      board.handshakes.some((h) => h === 'alpn.example.test acme-tls/1'),
      `pebble validated over acme-tls/1: ${board.handshakes.join('; ')}`,
    );
    // Withdrawn after the order.
    assert.equal(board.contexts.size, 0);
    assert.equal(board.cleaned.length, board.presented.length);

    const [leaf, ...intermediates] = pemBlocks(cert.certPem);
    assert.ok(leaf && intermediates.length > 0);
    assert.equal(leaf.checkHost('alpn2.example.test'), 'alpn2.example.test');
    const chain = [leaf, ...intermediates];
    for (let i = 0; i + 1 < chain.length; i++)
      assert.ok(chain[i]?.verify((chain[i + 1] as X509Certificate).publicKey));
    assert.ok(chain.at(-1)?.verify(new X509Certificate(pebble.rootPem).publicKey), 'ends at pebble’s root');
    assert.deepEqual(await resolver.stored(['alpn2.example.test', 'alpn.example.test']), cert);
  });

  it('a challenge certificate for the wrong name fails with a coded error naming tls-alpn-01', async () => {
    await pebble.addA('alpn-wrong.example.test');
    // Answer with a certificate made for another identifier (with a valid acmeIdentifier of its own).
    const [otherKey, otherCert] = await acme.crypto.createAlpnCertificate(
      { identifier: { type: 'dns', value: 'elsewhere.example.test' } } as acme.Authorization,
      'token.thumbprint',
      await acme.crypto.createPrivateEcdsaKey(),
    );
    board.contexts.set('elsewhere.example.test', createSecureContext({ cert: otherCert, key: otherKey }));
    board.swap = 'elsewhere.example.test';
    const resolver = resolverFor('data-wrong');
    try {
      const err = await resolver.obtain(['alpn-wrong.example.test']).then(
        () => assert.fail('the order succeeded with a wrong challenge certificate'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AcmeError, String(err));
      assert.equal(err.code, AcmeErrorCodes.CHALLENGE_FAILED);
      assert.match(
        err.message,
        /certificate resolver "le" \(alpn-wrong\.example\.test\): tls-alpn-01 challenge for alpn-wrong\.example\.test failed/,
      );
      assert.equal(board.contexts.has('alpn-wrong.example.test'), false);
    } finally {
      board.swap = null;
      board.contexts.delete('elsewhere.example.test');
      resolver.close();
    }
  });

  it('refuses wildcards up front: they need DNS-01', async () => {
    const resolver = resolverFor('data-wildcard');
    await assert.rejects(resolver.obtain(['*.example.test']), (err: unknown) => {
      assert.ok(err instanceof AcmeError);
      assert.equal(err.code, AcmeErrorCodes.CHALLENGE_UNAVAILABLE);
      assert.match(err.message, /wildcard names need dnsChallenge \(this resolver uses tls-alpn-01\)/);
      return true;
    });
  });
});
