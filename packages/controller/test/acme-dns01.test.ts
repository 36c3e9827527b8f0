// DNS-01 against pebble: the resolver's DNS providers publish TXT records in pebble-challtestsrv's
// DNS (through its management API), which pebble's VA queries, and the propagation check asks.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AcmeError, AcmeErrorCodes } from '../src/acme/acme-errors.js';
import { AcmeResolver, type ChallengeBoard } from '../src/acme/acme-resolver.js';
import { lookupTxt } from '../src/acme/dns-propagation.js';
import type { Dns01Settings, DnsProviderSettings } from '../src/acme/dns-settings.js';
import { resolverSettings } from './support/acme-settings.js';
import { HttpreqTranslator as Translator } from './support/httpreq-translator.js';
import { type Pebble, pebbleSkip, startPebble } from './support/pebble.js';
import { pemBlocks } from './support/pem-blocks.js';

const skip = await pebbleSkip();
const FAST_POLLING = { attempts: 20, minMs: 100, maxMs: 500 };

/** DNS-01 never touches the board. */
const noBoard: ChallengeBoard = {
  present: async () => assert.fail('DNS-01 answers must not go to the nodes'),
  cleanup: async () => assert.fail('DNS-01 answers must not go to the nodes'),
};

function dnsSettings(pebble: Pebble, provider: DnsProviderSettings, timeoutMs = 10_000): Dns01Settings {
  return {
    type: 'dns-01',
    provider: provider.name,
    providerSettings: provider,
    resolvers: [pebble.dnsServer],
    propagation: {
      delayBeforeChecksMs: 0,
      disableChecks: false,
      requireAllResolvers: false,
      timeoutMs,
      intervalMs: 100,
    },
  };
}

describe('ACME DNS-01 against pebble', { skip }, () => {
  let pebble: Pebble;
  let translator: Translator;
  let endpoint: string;
  let dir: string;
  let caFile: string;

  before(async () => {
    pebble = await startPebble();
    translator = new Translator(pebble.challtestsrvUrl);
    endpoint = `${await translator.listen()}/acme/`;
    dir = await mkdtemp(join(tmpdir(), 'berth-acme-dns-'));
    caFile = join(dir, 'pebble-https-ca.pem');
    await writeFile(caFile, pebble.httpsCaPem);
  });

  after(async () => {
    await translator?.close();
    await pebble?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const httpreq = (
    extra: Partial<Extract<DnsProviderSettings, { name: 'httpreq' }>> = {},
  ): DnsProviderSettings => ({
    name: 'httpreq',
    endpoint,
    mode: 'default',
    username: 'berth',
    password: 's3cret',
    httpTimeoutMs: 5000,
    ...extra,
  });

  const resolverFor = (dataDir: string, challenge: Dns01Settings) =>
    new AcmeResolver({
      settings: resolverSettings(pebble.directoryUrl, caFile, { challenge }),
      dataDir: join(dir, dataDir),
      board: noBoard,
      polling: FAST_POLLING,
      presentTimeoutMs: 5000,
    });

  it('obtains a wildcard and its apex through httpreq, both TXT values present at once', async () => {
    translator.calls.length = 0;
    const resolver = resolverFor('data-httpreq', dnsSettings(pebble, httpreq()));
    const cert = await resolver.obtain(['*.example.test', 'example.test']);
    resolver.close();
    assert.deepEqual(cert.domains, ['*.example.test', 'example.test']);
    const [leaf, ...intermediates] = pemBlocks(cert.certPem);
    assert.ok(leaf && intermediates.length > 0);
    assert.equal(leaf.checkHost('app.example.test'), '*.example.test');
    assert.equal(leaf.checkHost('example.test'), 'example.test');
    const chain = [leaf, ...intermediates];
    for (let i = 0; i + 1 < chain.length; i++)
      assert.ok(chain[i]?.verify((chain[i + 1] as X509Certificate).publicKey));
    assert.ok(chain.at(-1)?.verify(new X509Certificate(pebble.rootPem).publicKey), 'ends at pebble’s root');

    // lego's httpreq: ENDPOINT/present then /cleanup, {fqdn, value}, basic auth.
    const presents = translator.calls.filter((c) => c.path === '/acme/present');
    const cleanups = translator.calls.filter((c) => c.path === '/acme/cleanup');
    assert.equal(presents.length, 2);
    assert.deepEqual(
      presents.map((c) => c.body['fqdn']),
      ['_acme-challenge.example.test.', '_acme-challenge.example.test.'],
    );
    assert.notEqual(presents[0]?.body['value'], presents[1]?.body['value']);
    assert.deepEqual(Object.keys(presents[0]?.body ?? {}).sort(), ['fqdn', 'value']);
    assert.equal(presents[0]?.auth, `Basic ${Buffer.from('berth:s3cret').toString('base64')}`);
    assert.equal(cleanups.length, 2);
    // Every present came before the first cleanup, and the record is gone afterwards.
    assert.ok(translator.calls.findIndex((c) => c.path.endsWith('/cleanup')) >= 2);
    assert.deepEqual(await lookupTxt('_acme-challenge.example.test.', [pebble.dnsServer]), []);
  });

  it('obtains a certificate through an exec program, run with lego’s arguments', async () => {
    const log = join(dir, 'exec.log');
    const script = join(dir, 'update-dns.mjs');
    await writeFile(
      script,
      [
        `#!${process.execPath}`,
        "import { appendFileSync } from 'node:fs';",
        'const [action, fqdn, value] = process.argv.slice(2);',
        `appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + '\\n');`,
        `const base = ${JSON.stringify(pebble.challtestsrvUrl)};`,
        "const body = action === 'present' ? { host: fqdn, value } : { host: fqdn };",
        "const path = action === 'present' ? '/set-txt' : '/clear-txt';",
        'const res = await fetch(base + path, { method: "POST", body: JSON.stringify(body) });',
        "if (!res.ok) { console.error('challtestsrv answered ' + res.status); process.exit(1); }",
        '',
      ].join('\n'),
    );
    await chmod(script, 0o755);
    const resolver = resolverFor(
      'data-exec',
      dnsSettings(pebble, { name: 'exec', path: script, mode: 'default' }),
    );
    const cert = await resolver.obtain(['exec.example.test']);
    resolver.close();
    assert.equal(pemBlocks(cert.certPem)[0]?.checkHost('exec.example.test'), 'exec.example.test');
    const calls = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
    assert.deepEqual(
      calls.map((c) => c.slice(0, 2)),
      [
        ['present', '_acme-challenge.exec.example.test.'],
        ['cleanup', '_acme-challenge.exec.example.test.'],
      ],
    );
    assert.match(calls[0]?.[2] ?? '', /^[A-Za-z0-9_-]{43}$/);
  });

  it('a failing program fails the order with BERTH_ACME_DNS_PROVIDER and its stderr', async () => {
    const script = join(dir, 'broken-dns.sh');
    await writeFile(
      script,
      '#!/bin/sh\necho "updating $2" \necho "  zone example.test: API token rejected (403)  " >&2\nexit 3\n',
    );
    await chmod(script, 0o755);
    const resolver = resolverFor(
      'data-broken',
      dnsSettings(pebble, { name: 'exec', path: script, mode: 'default' }),
    );
    const err = await resolver.obtain(['broken.example.test']).then(
      () => assert.fail('the order succeeded with a failing DNS program'),
      (e: unknown) => e,
    );
    resolver.close();
    assert.ok(err instanceof AcmeError, String(err));
    assert.equal(err.code, AcmeErrorCodes.DNS_PROVIDER);
    assert.equal(
      err.message,
      `certificate resolver "le" (broken.example.test): dns-01 provider exec: ${script} present _acme-challenge.broken.example.test.: exit code 3: zone example.test: API token rejected (403)`,
    );
  });

  it('an endpoint answering 503 fails with BERTH_ACME_DNS_PROVIDER naming status and body', async () => {
    translator.failWith = { status: 503, body: 'zone locked\nby another change' };
    const resolver = resolverFor('data-503', dnsSettings(pebble, httpreq()));
    try {
      await assert.rejects(resolver.obtain(['locked.example.test']), (err: unknown) => {
        assert.ok(err instanceof AcmeError, String(err));
        assert.equal(err.code, AcmeErrorCodes.DNS_PROVIDER);
        assert.match(
          err.message,
          /dns-01 provider httpreq: POST http:\/\/127\.0\.0\.1:\d+\/acme\/present: HTTP 503: zone locked by another change/,
        );
        assert.doesNotMatch(err.message, /s3cret/);
        return true;
      });
    } finally {
      translator.failWith = null;
      resolver.close();
    }
  });

  it('a record that never appears fails with BERTH_ACME_DNS_PROPAGATION naming fqdn and resolver', async () => {
    translator.forward = false;
    translator.calls.length = 0;
    const resolver = resolverFor('data-lost', dnsSettings(pebble, httpreq(), 600));
    try {
      await assert.rejects(resolver.obtain(['lost.example.test']), (err: unknown) => {
        assert.ok(err instanceof AcmeError, String(err));
        assert.equal(err.code, AcmeErrorCodes.DNS_PROPAGATION);
        assert.ok(err.message.includes(`TXT _acme-challenge.lost.example.test. does not hold`), err.message);
        assert.ok(err.message.includes(`at ${pebble.dnsServer} after`), err.message);
        assert.match(err.message, /no TXT record/);
        return true;
      });
      // Cleaned up all the same.
      assert.deepEqual(
        translator.calls.map((c) => c.path),
        ['/acme/present', '/acme/cleanup'],
      );
    } finally {
      translator.forward = true;
      resolver.close();
    }
  });
});
