// DNS-01's providers with lego's semantics (exec: arguments, stderr, timeout; httpreq: paths,
// bodies, basic auth, failures) and the propagation check, without a CA.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as acme from 'acme-client';
import { DnsPropagationError, waitForTxtRecords } from '../src/acme/dns-propagation.js';
import { type Dns01Challenge, dns01Challenge, dnsProvider, dnsTxtValue } from '../src/acme/dns-providers.js';
import type { DnsPropagationSettings } from '../src/acme/dns-settings.js';
import { freePort } from './support/pebble.js';

const KEY_AUTH = '-token_starting_with_dash.thumbprint';
const apex = dns01Challenge('le', { identifier: { value: 'example.test' } }, '-token', KEY_AUTH);
const wildcard = dns01Challenge(
  'le',
  { identifier: { value: 'example.test' }, wildcard: true },
  'other',
  'other.thumbprint',
);

const never = new AbortController().signal;

describe('DNS-01 records', () => {
  it('puts a wildcard and its apex on one fqdn, with RFC 8555’s value (as acme-client computes it)', async () => {
    assert.equal(apex.fqdn, '_acme-challenge.example.test.');
    assert.equal(wildcard.fqdn, '_acme-challenge.example.test.');
    assert.equal(apex.domain, 'example.test');
    assert.equal(wildcard.domain, '*.example.test');
    // acme-client's own dns-01 answer for a key authorization, by way of a client with any key.
    const client = new acme.Client({
      directoryUrl: 'https://127.0.0.1:1/dir',
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
    });
    const challenge = { type: 'dns-01', token: 'tok', url: 'https://x', status: 'pending' } as const;
    const raw = await client.getChallengeKeyAuthorization({ ...challenge, type: 'http-01' });
    assert.equal(dnsTxtValue(raw), await client.getChallengeKeyAuthorization(challenge));
  });
});

describe('the exec DNS provider', () => {
  let dir: string;
  let script: string;
  let log: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-dns-exec-'));
    log = join(dir, 'args.log');
    script = join(dir, 'record.sh');
    // Records its arguments one per line; `slow` sleeps; `fail` fails with stderr.
    await writeFile(
      script,
      [
        '#!/bin/sh',
        `for a in "$@"; do echo "$a" >> ${JSON.stringify(log)}; done`,
        'case "$3" in *slow*) sleep 30;; esac',
        'case "$PWD$DNS_FAIL" in *yes*) echo "to stdout" ; printf "  bad things\\n\\n" >&2; exit 2;; esac',
        '',
      ].join('\n'),
    );
    await chmod(script, 0o755);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const lines = async () => {
    const text = await readFile(log, 'utf8').catch(() => '');
    await rm(log, { force: true });
    return text.trim().split('\n');
  };

  it('runs PATH present FQDN VALUE, and cleanup likewise', async () => {
    const provider = dnsProvider({ name: 'exec', path: script, mode: 'default' });
    await provider.present(apex, never);
    assert.deepEqual(await lines(), ['present', '_acme-challenge.example.test.', apex.value]);
    await provider.cleanup(apex, never);
    assert.deepEqual(await lines(), ['cleanup', '_acme-challenge.example.test.', apex.value]);
  });

  it('in RAW mode runs PATH present -- DOMAIN TOKEN KEYAUTH, never through a shell', async () => {
    const provider = dnsProvider({ name: 'exec', path: script, mode: 'raw' });
    const odd = { ...wildcard, keyAuthorization: '$(touch /tmp/berth-pwned);`x`' };
    await provider.present(odd, never);
    assert.deepEqual(await lines(), [
      'present',
      '--',
      '*.example.test',
      'other',
      '$(touch /tmp/berth-pwned);`x`',
    ]);
  });

  it('reports the exit code with the trimmed stderr', async () => {
    process.env['DNS_FAIL'] = 'yes';
    try {
      const provider = dnsProvider({ name: 'exec', path: script, mode: 'default' });
      await assert.rejects(provider.present(apex, never), {
        name: 'DnsProviderError',
        message: `${script} present _acme-challenge.example.test.: exit code 2: bad things`,
      });
    } finally {
      delete process.env['DNS_FAIL'];
      await lines();
    }
  });

  it('kills a program still running when the signal aborts', async () => {
    const provider = dnsProvider({ name: 'exec', path: script, mode: 'default' });
    const started = Date.now();
    await assert.rejects(provider.present({ ...apex, value: 'slow' }, AbortSignal.timeout(200)), {
      message: /_acme-challenge\.example\.test\.: killed: timed out/,
    });
    assert.ok(Date.now() - started < 5000);
    await lines();
  });

  it('says when the program cannot be run', async () => {
    const provider = dnsProvider({ name: 'exec', path: join(dir, 'missing.sh'), mode: 'default' });
    await assert.rejects(provider.present(apex, never), {
      message: /cannot run .*missing\.sh: spawn .*ENOENT/,
    });
  });
});

describe('the httpreq DNS provider', () => {
  let server: Server;
  let base: string;
  const seen: {
    method: string;
    url: string;
    body: unknown;
    auth: string | undefined;
    type: string | undefined;
  }[] = [];
  let answer = { status: 200, body: '' };

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          auth: req.headers.authorization,
          type: req.headers['content-type'],
        });
        if (req.url?.includes('slow')) return; // never answers
        res.writeHead(answer.status).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const settings = (extra = {}) => ({
    name: 'httpreq' as const,
    endpoint: `${base}/api/dns`,
    mode: 'default' as const,
    username: null,
    password: null,
    httpTimeoutMs: 2000,
    ...extra,
  });

  it('POSTs {fqdn, value} to ENDPOINT/present and /cleanup, without auth unless both are set', async () => {
    seen.length = 0;
    const provider = dnsProvider(settings({ username: 'only-user' }));
    await provider.present(wildcard, never);
    await provider.cleanup(wildcard, never);
    assert.deepEqual(seen, [
      {
        method: 'POST',
        url: '/api/dns/present',
        body: { fqdn: '_acme-challenge.example.test.', value: wildcard.value },
        auth: undefined,
        type: 'application/json',
      },
      {
        method: 'POST',
        url: '/api/dns/cleanup',
        body: { fqdn: '_acme-challenge.example.test.', value: wildcard.value },
        auth: undefined,
        type: 'application/json',
      },
    ]);
  });

  it('in RAW mode POSTs {domain, token, keyAuth} with basic auth', async () => {
    seen.length = 0;
    const provider = dnsProvider(
      settings({ mode: 'raw', endpoint: `${base}/`, username: 'u', password: 'p' }),
    );
    await provider.present(wildcard, never);
    assert.equal(seen[0]?.url, '/present');
    assert.deepEqual(seen[0]?.body, {
      domain: '*.example.test',
      token: 'other',
      keyAuth: 'other.thumbprint',
    });
    assert.equal(seen[0]?.auth, `Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('fails on anything but 2xx with the status and an excerpt of the body', async () => {
    answer = { status: 302, body: '' };
    const provider = dnsProvider(settings());
    await assert.rejects(provider.present(apex, never), {
      message: `POST ${base}/api/dns/present: HTTP 302`,
    });
    answer = { status: 500, body: `${'x'.repeat(1000)} the end\n` };
    await assert.rejects(provider.present(apex, never), (err: Error) => {
      assert.match(err.message, /HTTP 500: …x+ the end$/);
      assert.ok(err.message.length < 600);
      return true;
    });
    answer = { status: 200, body: '' };
  });

  it('fails on an endpoint that does not answer in time, or at all', async () => {
    const provider = dnsProvider(settings({ endpoint: `${base}/slow`, httpTimeoutMs: 200 }));
    await assert.rejects(provider.present(apex, never), {
      message: `POST ${base}/slow/present: no answer within 200 ms`,
    });
    const port = await freePort();
    const closed = dnsProvider(settings({ endpoint: `http://127.0.0.1:${port}/` }));
    await assert.rejects(closed.present(apex, never), {
      message: `POST http://127.0.0.1:${port}/present: connect ECONNREFUSED 127.0.0.1:${port}`,
    });
  });
});

describe('the DNS-01 propagation check', () => {
  const propagation = (extra: Partial<DnsPropagationSettings> = {}): DnsPropagationSettings => ({
    delayBeforeChecksMs: 0,
    disableChecks: false,
    requireAllResolvers: false,
    timeoutMs: 1000,
    intervalMs: 10,
    ...extra,
  });
  const records: Dns01Challenge[] = [apex, wildcard];

  it('waits until both values of one fqdn are visible', async () => {
    let calls = 0;
    await waitForTxtRecords(records, ['10.0.0.1:53'], propagation(), {
      lookup: async (fqdn, servers) => {
        calls++;
        assert.equal(fqdn, '_acme-challenge.example.test.');
        assert.deepEqual(servers, ['10.0.0.1:53']);
        return calls < 3 ? [apex.value] : [apex.value, wildcard.value, 'stale'];
      },
    });
    assert.ok(calls >= 4);
  });

  it('with requireAllRNS asks every resolver on its own', async () => {
    const asked: string[] = [];
    await assert.rejects(
      waitForTxtRecords(
        [apex],
        ['10.0.0.1', '10.0.0.2'],
        propagation({ requireAllResolvers: true, timeoutMs: 50 }),
        {
          lookup: async (_fqdn, servers) => {
            asked.push(servers.join());
            return servers[0] === '10.0.0.1' ? [apex.value] : ['old'];
          },
        },
      ),
      (err: unknown) => {
        assert.ok(err instanceof DnsPropagationError);
        assert.equal(err.fqdn, '_acme-challenge.example.test.');
        assert.match(
          err.message,
          /^TXT _acme-challenge\.example\.test\. does not hold ".+" at 10\.0\.0\.2 after 0 s \(seen: "old"\)/,
        );
        return true;
      },
    );
    assert.ok(asked.includes('10.0.0.1') && asked.includes('10.0.0.2'));
  });

  it('reports lookup failures, and skips checking when disabled (after the delay)', async () => {
    await assert.rejects(
      waitForTxtRecords([apex], ['10.0.0.1'], propagation({ timeoutMs: 20 }), {
        lookup: async () => {
          throw Object.assign(new Error('timeout'), { code: 'ETIMEOUT' });
        },
      }),
      { message: /\(lookup failed: ETIMEOUT\)/ },
    );
    const started = Date.now();
    await waitForTxtRecords([apex], [], propagation({ disableChecks: true, delayBeforeChecksMs: 100 }), {
      lookup: async () => assert.fail('no lookup when checks are disabled'),
    });
    assert.ok(Date.now() - started >= 95);
  });
});
