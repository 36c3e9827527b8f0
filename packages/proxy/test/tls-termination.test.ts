import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ResolvedCertificate, ResolvedTls, TlsOptions } from '@berth/config';
import { CIPHER_PROFILES } from '@berth/config';
import { pino } from 'pino';
import { TlsState, type TlsStateInput } from '../src/tls/tls-state.js';
import { TlsTermination } from '../src/tls/tls-termination.js';
import { EdgeTlsTerminator } from '../src/tls/tls-terminator.js';
import { captureLog } from './support/log-capture.js';
import { sClient } from './support/s-client.js';
import { startTestFront, type TestFront } from './support/tls-front.js';
import { makeTestCa, type TestCa } from './support/tls-pki.js';

const logger = pino({ enabled: false });
const TICKET_KEY = Buffer.alloc(48, 0x5a).toString('base64');

function body(tls: ResolvedTls, routers: TlsStateInput['http']['routers'] = {}): TlsStateInput {
  return { tls, entryPoints: { websecure: { address: ':443' } }, http: { routers } };
}

function resolved(
  certificates: ResolvedCertificate[],
  defaultCertificate: ResolvedCertificate,
  extra: Record<string, TlsOptions> = {},
): ResolvedTls {
  return {
    certificates,
    defaultCertificate,
    options: {
      default: CIPHER_PROFILES.strict,
      strict: CIPHER_PROFILES.strict,
      compatible: CIPHER_PROFILES.compatible,
      ...extra,
    },
    sessionTicketKeys: [TICKET_KEY],
  };
}

describe('TLS termination with openssl s_client', () => {
  let ca: TestCa;
  let ecApp: ResolvedCertificate;
  let rsaApp: ResolvedCertificate;
  let wildcard: ResolvedCertificate;
  let fallback: ResolvedCertificate;
  const fronts: TestFront[] = [];

  async function front(input: TlsStateInput): Promise<number> {
    const state = TlsState.fromBody(input, logger);
    const terminator = new EdgeTlsTerminator({
      entryPoint: 'websecure',
      logger,
      state,
      handshakeTimeoutMs: 2000,
    });
    const f = await startTestFront({ terminator });
    fronts.push(f);
    return f.port;
  }

  before(() => {
    ca = makeTestCa();
    ecApp = ca.leaf(['app.test']);
    rsaApp = ca.leaf(['rsa.test', 'compat.test', 'legacy.test'], 'rsa');
    wildcard = ca.leaf(['*.wild.test']);
    fallback = ca.leaf(['berth-default']);
  });
  after(async () => {
    for (const f of fronts) await f.close();
    ca.close();
  });

  it('picks the certificate by exact name, then a one-label wildcard, then the default', async () => {
    const port = await front(body(resolved([ecApp, rsaApp, wildcard], fallback)));
    assert.equal((await sClient(port, ['-servername', 'app.test'])).subjectCn, 'app.test');
    assert.equal((await sClient(port, ['-servername', 'rsa.test'])).subjectCn, 'rsa.test');
    assert.equal((await sClient(port, ['-servername', 'a.wild.test'])).subjectCn, '*.wild.test');
    assert.equal((await sClient(port, ['-servername', 'a.b.wild.test'])).subjectCn, 'berth-default');
    assert.equal((await sClient(port, ['-servername', 'other.test'])).subjectCn, 'berth-default');
    assert.equal((await sClient(port, ['-noservername'])).subjectCn, 'berth-default');
  });

  it('refuses unknown and missing server names under sniStrict', async () => {
    const port = await front(
      body(resolved([ecApp], fallback, { default: { ...CIPHER_PROFILES.strict, sniStrict: true } })),
    );
    assert.equal((await sClient(port, ['-servername', 'app.test'])).ok, true);
    const unknown = await sClient(port, ['-servername', 'other.test']);
    assert.equal(unknown.ok, false);
    assert.match(unknown.output, /unrecognized name/);
    assert.equal((await sClient(port, ['-noservername'])).ok, false);
  });

  it('negotiates only suites of the strict profile, with ECDSA and RSA certificates', async () => {
    const port = await front(body(resolved([ecApp, rsaApp], fallback)));
    const ec12 = await sClient(port, ['-servername', 'app.test', '-tls1_2']);
    assert.equal(ec12.protocol, 'TLSv1.2');
    assert.match(ec12.cipher ?? '', /^ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    const rsa12 = await sClient(port, ['-servername', 'rsa.test', '-tls1_2']);
    assert.match(rsa12.cipher ?? '', /^ECDHE-RSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    const tls13 = await sClient(port, ['-servername', 'app.test', '-tls1_3']);
    assert.equal(tls13.protocol, 'TLSv1.3');
    assert.match(
      tls13.cipher ?? '',
      /^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/,
    );
  });

  it('refuses a CBC suite and TLS 1.1 under strict; compatible accepts the CBC suite', async () => {
    const routers = {
      compat: { rule: 'Host(`compat.test`)', service: 's', tls: { options: 'compatible' } },
      legacy: { rule: 'Host(`legacy.test`)', service: 's', tls: { options: 'legacy' } },
    };
    const legacy: TlsOptions = { ...CIPHER_PROFILES.compatible, minVersion: 'VersionTLS11' };
    const port = await front(body(resolved([rsaApp], fallback, { legacy }), routers));
    const cbc = ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA'];
    assert.equal((await sClient(port, ['-servername', 'rsa.test', ...cbc])).ok, false);
    const compat = await sClient(port, ['-servername', 'compat.test', ...cbc]);
    assert.equal(compat.ok, true);
    assert.equal(compat.cipher, 'ECDHE-RSA-AES128-SHA');
    const tls11 = ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'];
    assert.equal((await sClient(port, ['-servername', 'rsa.test', ...tls11])).ok, false);
    // The compatible profile also starts at TLS 1.2; options with minVersion TLS 1.1 accept it.
    assert.equal((await sClient(port, ['-servername', 'compat.test', ...tls11])).ok, false);
    const old = await sClient(port, ['-servername', 'legacy.test', ...tls11]);
    assert.equal(old.protocol, 'TLSv1.1');
  });

  for (const version of ['-tls1_2', '-tls1_3']) {
    it(`resumes a session made on one terminator on another (${version})`, async () => {
      const input = body(resolved([ecApp], fallback));
      const a = await front(input);
      const b = await front(input);
      const file = `${ca.dir}/session${version}.pem`;
      const first = await sClient(a, ['-servername', 'app.test', version, '-sess_out', file]);
      assert.equal(first.reused, false);
      const second = await sClient(b, ['-servername', 'app.test', version, '-sess_in', file]);
      assert.equal(second.reused, true, second.output);
    });
  }

  it('staples the OCSP response the certificate carries', async () => {
    const stapled = { ...ecApp, ocspResponse: ca.ocspGood(ecApp.certPem) };
    const port = await front(body(resolved([stapled, rsaApp], fallback)));
    const withStatus = await sClient(port, ['-servername', 'app.test', '-status']);
    assert.equal(withStatus.ocspStapled, true, withStatus.output);
    assert.match(withStatus.output, /Cert Status: good/);
    const other = await sClient(port, ['-servername', 'rsa.test', '-status']);
    assert.equal(other.ok, true);
    assert.equal(other.ocspStapled, false);
  });

  it('requires and verifies a client certificate under RequireAndVerifyClientCert', async () => {
    const mtls: TlsOptions = {
      ...CIPHER_PROFILES.strict,
      clientAuth: { clientAuthType: 'RequireAndVerifyClientCert', caFiles: [ca.caPem] },
    };
    const routers = { m: { rule: 'Host(`app.test`)', service: 's', tls: { options: 'mtls' } } };
    const port = await front(body(resolved([ecApp], fallback, { mtls }), routers));
    const client = ca.client('alice');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${ca.dir}/alice.pem`, client.certPem);
    writeFileSync(`${ca.dir}/alice.key`, client.keyPem);
    const stranger = makeTestCa();
    const other = stranger.client('mallory');
    writeFileSync(`${ca.dir}/mallory.pem`, other.certPem);
    writeFileSync(`${ca.dir}/mallory.key`, other.keyPem);
    stranger.close();
    const ok = await sClient(port, [
      '-servername',
      'app.test',
      '-cert',
      `${ca.dir}/alice.pem`,
      '-key',
      `${ca.dir}/alice.key`,
    ]);
    assert.match(ok.output, /^ok$/m);
    const none = await sClient(port, ['-servername', 'app.test']);
    assert.doesNotMatch(none.output, /^ok$/m);
    const wrong = await sClient(port, [
      '-servername',
      'app.test',
      '-cert',
      `${ca.dir}/mallory.pem`,
      '-key',
      `${ca.dir}/mallory.key`,
    ]);
    assert.doesNotMatch(wrong.output, /^ok$/m);
  });

  it('offers the ALPN protocols of the options in effect, and honours curves and disabled tickets', async () => {
    const routers = {
      h1: { rule: 'Host(`rsa.test`)', service: 's', tls: { options: 'h1only' } },
      p384: { rule: 'Host(`compat.test`)', service: 's', tls: { options: 'p384' } },
    };
    const extra: Record<string, TlsOptions> = {
      h1only: { ...CIPHER_PROFILES.strict, alpnProtocols: ['http/1.1'] },
      p384: { ...CIPHER_PROFILES.compatible, curvePreferences: ['CurveP384'] },
    };
    const port = await front(body(resolved([ecApp, rsaApp], fallback, extra), routers));
    assert.equal((await sClient(port, ['-servername', 'app.test', '-alpn', 'h2,http/1.1'])).alpn, 'h2');
    assert.equal((await sClient(port, ['-servername', 'rsa.test', '-alpn', 'h2,http/1.1'])).alpn, 'http/1.1');
    assert.equal((await sClient(port, ['-servername', 'compat.test', '-groups', 'P-256'])).ok, false);
    assert.equal((await sClient(port, ['-servername', 'compat.test', '-groups', 'P-384'])).ok, true);

    const noTickets = body(
      resolved([ecApp], fallback, { default: { ...CIPHER_PROFILES.strict, disableSessionTickets: true } }),
    );
    const a = await front(noTickets);
    const b = await front(noTickets);
    const file = `${ca.dir}/no-ticket.pem`;
    await sClient(a, ['-servername', 'app.test', '-tls1_2', '-sess_out', file]);
    assert.equal((await sClient(b, ['-servername', 'app.test', '-tls1_2', '-sess_in', file])).reused, false);
  });

  it('applies the other client authentication modes', async () => {
    const { writeFileSync } = await import('node:fs');
    const client = ca.client('bob');
    writeFileSync(`${ca.dir}/bob.pem`, client.certPem);
    writeFileSync(`${ca.dir}/bob.key`, client.keyPem);
    const stranger = makeTestCa();
    const other = stranger.client('eve');
    writeFileSync(`${ca.dir}/eve.pem`, other.certPem);
    writeFileSync(`${ca.dir}/eve.key`, other.keyPem);
    stranger.close();
    const mode = (clientAuthType: 'RequireAnyClientCert' | 'VerifyClientCertIfGiven'): TlsOptions => ({
      ...CIPHER_PROFILES.strict,
      clientAuth: { clientAuthType, caFiles: [ca.caPem] },
    });
    const routers = {
      any: { rule: 'Host(`rsa.test`)', service: 's', tls: { options: 'any' } },
      given: { rule: 'Host(`app.test`)', service: 's', tls: { options: 'given' } },
    };
    const port = await front(
      body(
        resolved([ecApp, rsaApp], fallback, {
          any: mode('RequireAnyClientCert'),
          given: mode('VerifyClientCertIfGiven'),
        }),
        routers,
      ),
    );
    const served = async (name: string, who?: string) => {
      const auth = who === undefined ? [] : ['-cert', `${ca.dir}/${who}.pem`, '-key', `${ca.dir}/${who}.key`];
      return /^ok$/m.test((await sClient(port, ['-servername', name, ...auth])).output);
    };
    assert.equal(await served('rsa.test'), false);
    assert.equal(await served('rsa.test', 'eve'), true, 'any certificate will do');
    assert.equal(await served('app.test'), true, 'no certificate is fine');
    assert.equal(await served('app.test', 'bob'), true);
    assert.equal(await served('app.test', 'eve'), false, 'a given certificate must verify');
  });

  it('swaps a new snapshot into the running terminators, and logs option conflicts', async () => {
    const log = captureLog('warn');
    const termination = new TlsTermination({ logger: log.logger, handshakeTimeoutMs: 2000 });
    const f = await startTestFront({ terminator: termination.terminator('websecure') });
    fronts.push(f);
    // No snapshot yet: refused.
    assert.equal((await sClient(f.port, ['-servername', 'app.test'])).ok, false);
    termination.apply(body(resolved([ecApp], fallback)));
    assert.equal((await sClient(f.port, ['-servername', 'app.test'])).subjectCn, 'app.test');
    const conflicting = {
      a: { rule: 'Host(`rsa.test`)', service: 's', tls: { options: 'strict' } },
      b: { rule: 'Host(`rsa.test`) && Path(`/b`)', service: 's', tls: { options: 'compatible' } },
    };
    const problems = termination.apply(body(resolved([rsaApp], fallback), conflicting));
    assert.equal(problems.length, 1);
    assert.equal(log.lines[0]?.['code'], 'BERTH_PROXY_TLS_OPTIONS_CONFLICT');
    assert.equal((await sClient(f.port, ['-servername', 'app.test'])).subjectCn, 'berth-default');
    assert.equal((await sClient(f.port, ['-servername', 'rsa.test'])).subjectCn, 'rsa.test');
  });

  it('takes over the secure contexts of unchanged certificates from the state it replaces', () => {
    const first = TlsState.fromBody(body(resolved([ecApp, rsaApp], fallback)), logger);
    const a = first?.plan('websecure', 'app.test')?.context;
    const rsa = first?.plan('websecure', 'rsa.test')?.context;
    assert.ok(a && rsa);
    const next = TlsState.fromBody(
      body(resolved([ecApp, { ...rsaApp, names: ['rsa.test'], keyPem: rsaApp.keyPem }], fallback)),
      logger,
      first,
    );
    assert.equal(next?.plan('websecure', 'app.test')?.context, a);
    assert.equal(next?.plan('websecure', 'rsa.test')?.context, rsa);
    const rotated = resolved([ecApp], fallback);
    rotated.sessionTicketKeys = [Buffer.alloc(48, 9).toString('base64')];
    const third = TlsState.fromBody(body(rotated), logger, next);
    assert.notEqual(third?.plan('websecure', 'app.test')?.context, a, 'a new ticket key means a new context');
  });

  it('closes only the connection that sends garbage or stalls its handshake', async () => {
    const port = await front(body(resolved([ecApp], fallback)));
    const closed = (bytes: number[]) =>
      new Promise<number>((resolve) => {
        const started = Date.now();
        const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.from(bytes)));
        socket.on('error', () => {});
        socket.resume();
        socket.once('close', () => resolve(Date.now() - started));
      });
    // A ClientHello whose version field is nonsense and whose body stops short.
    const garbage = closed([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff]);
    // A ClientHello announcing 100 bytes of which 5 ever come: only the handshake timeout ends it.
    const stalled = closed([
      0x16, 0x03, 0x01, 0x00, 0x09, 0x01, 0x00, 0x00, 0x64, 0x03, 0x03, 0x00, 0x00, 0x00,
    ]);
    await garbage;
    assert.equal((await sClient(port, ['-servername', 'app.test'])).ok, true);
    assert.ok((await stalled) >= 1500, 'the stalled handshake is cut by the timeout, not before');
  });
});
