import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AcmeErrorCodes } from '../src/acme/acme-errors.js';
import { resolverAddress } from '../src/acme/dns-settings.js';
import {
  LETS_ENCRYPT_DIRECTORY,
  parseCertificatesResolvers,
  parseRenewBefore,
} from '../src/acme/resolver-settings.js';
import { parseControllerConfig } from '../src/settings/controller-config.js';

const HOUR = 3_600_000;

describe('certificatesResolvers in the static file', () => {
  it('reads Traefik v3 keys, with defaults for the rest', () => {
    const { certificatesResolvers, errors } = parseControllerConfig(
      [
        'entryPoints:',
        '  web: {address: ":80"}',
        'certificatesResolvers:',
        '  le:',
        '    acme:',
        '      email: ops@example.com',
        '      storage: acme.json',
        '      httpChallenge:',
        '        entryPoint: web',
        '  internal:',
        '    acme:',
        '      caServer: https://ca.internal:14000/dir',
        '      keyType: rsa2048',
        '      eab: {kid: kid-1, hmacEncoded: zWNDZM6eQGHWpSRTPal5eIUYFTu7EajV}',
        '      tlsChallenge: {}',
        '      caCertificates: [certs/ca.pem, /etc/ca2.pem]',
        '      preferredChain: ISRG Root X1',
        '',
      ].join('\n'),
      '/etc/berth/berth.yml',
      {},
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(certificatesResolvers.get('le'), {
      name: 'le',
      email: 'ops@example.com',
      caServer: LETS_ENCRYPT_DIRECTORY,
      storage: 'acme.json',
      eab: null,
      keyType: 'EC256',
      challenge: { type: 'http-01', entryPoint: 'web' },
      renewBefore: { fraction: 1 / 3 },
      certificatesDurationHours: null,
      preferredChain: null,
      caCertificates: [],
      caSystemCertPool: false,
    });
    const internal = certificatesResolvers.get('internal');
    assert.equal(internal?.keyType, 'RSA2048');
    assert.deepEqual(internal?.eab, { kid: 'kid-1', hmacEncoded: 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajV' });
    assert.deepEqual(internal?.challenge, { type: 'tls-alpn-01' });
    assert.deepEqual(internal?.caCertificates, ['/etc/berth/certs/ca.pem', '/etc/ca2.pem']);
    assert.equal(internal?.preferredChain, 'ISRG Root X1');
    assert.equal(internal?.email, null);
  });

  it('names the file and line of a bad value, and leaves that resolver out', () => {
    const { certificatesResolvers, errors } = parseControllerConfig(
      [
        'certificatesResolvers:',
        '  le:',
        '    acme:',
        '      keyType: RSA8192',
        '      httpChallenge: {entryPoint: web}',
        '  ok:',
        '    acme:',
        '      dnsChallenge: {provider: httpreq}',
        '',
      ].join('\n'),
      '/etc/berth/berth.yml',
      { HTTPREQ_ENDPOINT: 'https://dns.example.com/acme' },
    );
    assert.deepEqual([...certificatesResolvers.keys()], ['ok']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.code, AcmeErrorCodes.SETTING_INVALID);
    assert.equal(errors[0]?.severity, undefined);
    assert.equal(errors[0]?.path, 'certificatesResolvers.le.acme.keyType');
    assert.deepEqual(errors[0]?.source, { provider: 'static', origin: '/etc/berth/berth.yml', line: 4 });
    assert.match(errors[0]?.message ?? '', /RSA8192 is not supported/);
  });

  it('requires exactly one challenge type', () => {
    const none = parseCertificatesResolvers({ le: { acme: { email: 'a@b.c' } } });
    assert.equal(none.resolvers.size, 0);
    assert.equal(none.errors[0]?.code, AcmeErrorCodes.CHALLENGE_CHOICE);
    assert.match(none.errors[0]?.message ?? '', /no challenge/);
    const two = parseCertificatesResolvers({
      le: { acme: { httpChallenge: { entryPoint: 'web' }, tlsChallenge: {} } },
    });
    assert.equal(two.resolvers.size, 0);
    assert.match(two.errors[0]?.message ?? '', /2 challenges \(http-01, tls-alpn-01\): set exactly one/);
    const noEntryPoint = parseCertificatesResolvers({ le: { acme: { httpChallenge: {} } } });
    assert.equal(noEntryPoint.resolvers.size, 0);
    assert.match(noEntryPoint.errors[0]?.message ?? '', /entryPoint/);
  });

  it('matches keys case-insensitively, as Traefik CLI and env spellings are lower-case', () => {
    const { resolvers, errors } = parseCertificatesResolvers({
      le: {
        ACME: { caserver: 'https://x.test/dir', httpchallenge: { entrypoint: 'web' }, KeyType: 'ec384' },
      },
    });
    assert.deepEqual(errors, []);
    assert.equal(resolvers.get('le')?.caServer, 'https://x.test/dir');
    assert.equal(resolvers.get('le')?.keyType, 'EC384');
  });

  it('keeps storage in the data dir, saying so when a directory was written', () => {
    const { resolvers, errors } = parseCertificatesResolvers({
      le: { acme: { storage: '/letsencrypt/acme.json', httpChallenge: { entryPoint: 'web' } } },
    });
    assert.equal(resolvers.get('le')?.storage, 'acme.json');
    assert.equal(errors[0]?.code, AcmeErrorCodes.STORAGE_RELOCATED);
    assert.equal(errors[0]?.severity, 'warning');
    const bad = parseCertificatesResolvers({
      le: { acme: { storage: '..', httpChallenge: { entryPoint: 'web' } } },
    });
    assert.equal(bad.resolvers.size, 0);
  });

  it('reports unknown and unsupported keys without dropping the resolver', () => {
    const { resolvers, errors } = parseCertificatesResolvers({
      le: { acme: { emial: 'x', clientTimeout: '2m', httpChallenge: { entryPoint: 'web', delay: 5 } } },
    });
    assert.equal(resolvers.size, 1);
    assert.deepEqual(
      errors.map((e) => [e.code, e.path, e.severity]),
      [
        [AcmeErrorCodes.SETTING_UNKNOWN, 'certificatesResolvers.le.acme.emial', 'warning'],
        [AcmeErrorCodes.SETTING_UNSUPPORTED, 'certificatesResolvers.le.acme.clientTimeout', 'warning'],
        [AcmeErrorCodes.SETTING_UNSUPPORTED, 'certificatesResolvers.le.acme.httpChallenge.delay', 'warning'],
      ],
    );
  });

  it('rejects a plain-http CA, a bad e-mail and a half-written EAB', () => {
    const { resolvers, errors } = parseCertificatesResolvers({
      a: { acme: { caServer: 'http://ca.test/dir', httpChallenge: { entryPoint: 'web' } } },
      b: { acme: { email: 'nobody', httpChallenge: { entryPoint: 'web' } } },
      c: { acme: { eab: { kid: 'k' }, httpChallenge: { entryPoint: 'web' } } },
    });
    assert.equal(resolvers.size, 0);
    assert.deepEqual(
      errors.map((e) => e.path),
      [
        'certificatesResolvers.a.acme.caServer',
        'certificatesResolvers.b.acme.email',
        'certificatesResolvers.c.acme.eab',
      ],
    );
  });

  it("takes Traefik's renew period for certificatesDuration, unless renewBefore says otherwise", () => {
    const traefik = parseCertificatesResolvers({
      le: { acme: { certificatesDuration: 24, httpChallenge: { entryPoint: 'web' } } },
    });
    assert.deepEqual(traefik.resolvers.get('le')?.renewBefore, { ms: 6 * HOUR });
    const berth = parseCertificatesResolvers({
      le: { acme: { certificatesDuration: 24, renewBefore: '50%', httpChallenge: { entryPoint: 'web' } } },
    });
    assert.deepEqual(berth.resolvers.get('le')?.renewBefore, { fraction: 0.5 });
  });

  it('reads renewBefore as a fraction, a percentage or a duration', () => {
    assert.deepEqual(parseRenewBefore(0.25), { fraction: 0.25 });
    assert.deepEqual(parseRenewBefore('100%'), { fraction: 1 });
    assert.deepEqual(parseRenewBefore('720h'), { ms: 720 * HOUR });
    assert.equal(parseRenewBefore(0), null);
    assert.equal(parseRenewBefore(1.5), null);
    assert.equal(parseRenewBefore('30'), null);
    assert.equal(parseRenewBefore('soon'), null);
  });
});

describe('dnsChallenge in the static file', () => {
  const yaml = (...lines: string[]) =>
    ['certificatesResolvers:', '  dns:', '    acme:', ...lines.map((l) => `      ${l}`), ''].join('\n');

  it('reads lego’s variables for httpreq, with Traefik’s propagation keys and lego’s defaults', () => {
    const { certificatesResolvers, errors } = parseControllerConfig(
      yaml(
        'dnsChallenge:',
        '  provider: httpreq',
        '  resolvers: ["127.0.0.1:8053", "::1", "[::1]:5353"]',
        '  propagation: {delayBeforeChecks: 2s, requireAllRNS: true, disableANSChecks: true}',
      ),
      '/etc/berth/berth.yml',
      {
        HTTPREQ_ENDPOINT: 'https://dns.example.com/acme',
        HTTPREQ_MODE: 'RAW',
        HTTPREQ_USERNAME: 'berth',
        HTTPREQ_PASSWORD: 's3cret',
        HTTPREQ_PROPAGATION_TIMEOUT: '120',
      },
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(certificatesResolvers.get('dns')?.challenge, {
      type: 'dns-01',
      provider: 'httpreq',
      providerSettings: {
        name: 'httpreq',
        endpoint: 'https://dns.example.com/acme',
        mode: 'raw',
        username: 'berth',
        password: 's3cret',
        httpTimeoutMs: 30_000,
      },
      resolvers: ['127.0.0.1:8053', '::1', '[::1]:5353'],
      propagation: {
        delayBeforeChecksMs: 2000,
        disableChecks: false,
        requireAllResolvers: true,
        timeoutMs: 120_000,
        intervalMs: 2000,
      },
    });
  });

  it('takes exec settings written in the file over lego’s variables, and Traefik’s older propagation keys', () => {
    const { resolvers, errors } = parseCertificatesResolvers(
      {
        dns: {
          acme: {
            dnsChallenge: {
              provider: 'exec',
              exec: { path: 'bin/update-dns.sh', propagationTimeout: '90s', pollingInterval: 5 },
              delayBeforeCheck: 10,
              disablePropagationCheck: true,
            },
          },
        },
      },
      () => undefined,
      '/etc/berth',
      'certificatesResolvers',
      { EXEC_PATH: '/usr/local/bin/other', EXEC_MODE: 'RAW' },
    );
    assert.deepEqual(errors, []);
    const challenge = resolvers.get('dns')?.challenge;
    assert.equal(challenge?.type, 'dns-01');
    if (challenge?.type !== 'dns-01') return;
    assert.deepEqual(challenge.providerSettings, {
      name: 'exec',
      path: '/etc/berth/bin/update-dns.sh',
      mode: 'raw',
    });
    assert.deepEqual(challenge.propagation, {
      delayBeforeChecksMs: 10_000,
      disableChecks: true,
      requireAllResolvers: false,
      timeoutMs: 90_000,
      intervalMs: 5000,
    });
    assert.deepEqual(challenge.resolvers, []);
  });

  it('names file and line for an unknown provider and for a provider without its endpoint or program', () => {
    const { certificatesResolvers, errors } = parseControllerConfig(
      [
        'certificatesResolvers:',
        '  cf:',
        '    acme:',
        '      dnsChallenge:',
        '        provider: cloudflare',
        '  req:',
        '    acme:',
        '      dnsChallenge:',
        '        provider: httpreq',
        '  ex:',
        '    acme:',
        '      dnsChallenge: {provider: exec}',
        '',
      ].join('\n'),
      '/etc/berth/berth.yml',
      {},
    );
    assert.equal(certificatesResolvers.size, 0);
    assert.deepEqual(
      errors.map((e) => [e.code, e.path, e.source?.line, e.severity]),
      [
        [
          AcmeErrorCodes.DNS_PROVIDER_UNKNOWN,
          'certificatesResolvers.cf.acme.dnsChallenge.provider',
          5,
          undefined,
        ],
        [
          AcmeErrorCodes.SETTING_INVALID,
          'certificatesResolvers.req.acme.dnsChallenge.provider',
          9,
          undefined,
        ],
        [
          AcmeErrorCodes.SETTING_INVALID,
          'certificatesResolvers.ex.acme.dnsChallenge.provider',
          12,
          undefined,
        ],
      ],
    );
    assert.match(errors[0]?.message ?? '', /"cloudflare" is not a DNS provider Berth has \(exec, httpreq\)/);
    assert.match(errors[1]?.message ?? '', /set HTTPREQ_ENDPOINT or dnsChallenge\.httpreq\.endpoint/);
    assert.match(errors[2]?.message ?? '', /set EXEC_PATH or dnsChallenge\.exec\.path/);
  });

  it('refuses bad values, naming the variable or the key they came from', () => {
    const { certificatesResolvers, errors } = parseControllerConfig(
      yaml(
        'dnsChallenge:',
        '  provider: httpreq',
        '  resolvers: [dns.example.com]',
        '  httpreq: {endpoint: "ftp://x", mode: fancy}',
        '  propagation: {delayBeforeChecks: soon, disableChecks: "yes"}',
      ),
      '/etc/berth/berth.yml',
      { HTTPREQ_POLLING_INTERVAL: 'often' },
    );
    assert.equal(certificatesResolvers.size, 0);
    assert.deepEqual(
      errors.map((e) => [e.path, e.source?.line]),
      [
        ['certificatesResolvers.dns.acme.dnsChallenge.resolvers', 6],
        ['certificatesResolvers.dns.acme.dnsChallenge.propagation.delayBeforeChecks', 8],
        ['certificatesResolvers.dns.acme.dnsChallenge.propagation.disableChecks', 8],
        ['certificatesResolvers.dns.acme.dnsChallenge.provider', 5],
        ['certificatesResolvers.dns.acme.dnsChallenge.httpreq.mode', 7],
        ['certificatesResolvers.dns.acme.dnsChallenge.httpreq.endpoint', 7],
      ],
    );
    assert.ok(errors.every((e) => e.code === AcmeErrorCodes.SETTING_INVALID));
    assert.match(errors[3]?.message ?? '', /HTTPREQ_POLLING_INTERVAL: "often" is not a duration/);
    assert.match(
      errors[5]?.message ?? '',
      /dnsChallenge\.httpreq\.endpoint: "ftp:\/\/x" is not an http\(s\):\/\/ URL/,
    );
  });

  it('warns about keys it does not know and settings for the other provider', () => {
    const { resolvers, errors } = parseCertificatesResolvers(
      {
        dns: {
          acme: {
            dnsChallenge: {
              provider: 'exec',
              exec: { path: '/bin/true', sequenceInterval: 5 },
              httpreq: { endpoint: 'https://x.test' },
              propagation: { delayBeforeCheks: 1 },
              resolver: ['1.1.1.1'],
            },
          },
        },
      },
      () => undefined,
      '/',
      'certificatesResolvers',
      {},
    );
    assert.equal(resolvers.size, 1);
    assert.deepEqual(
      errors.map((e) => [e.code, e.path, e.severity]),
      [
        [
          AcmeErrorCodes.SETTING_UNKNOWN,
          'certificatesResolvers.dns.acme.dnsChallenge.propagation.delayBeforeCheks',
          'warning',
        ],
        [AcmeErrorCodes.SETTING_UNKNOWN, 'certificatesResolvers.dns.acme.dnsChallenge.resolver', 'warning'],
        [AcmeErrorCodes.SETTING_UNKNOWN, 'certificatesResolvers.dns.acme.dnsChallenge.httpreq', 'warning'],
        [
          AcmeErrorCodes.SETTING_UNKNOWN,
          'certificatesResolvers.dns.acme.dnsChallenge.exec.sequenceInterval',
          'warning',
        ],
      ],
    );
  });

  it('reads resolver addresses as node:dns takes them', () => {
    assert.equal(resolverAddress('1.1.1.1'), '1.1.1.1');
    assert.equal(resolverAddress(' 127.0.0.1:8053 '), '127.0.0.1:8053');
    assert.equal(resolverAddress('[2606:4700::1111]:53'), '[2606:4700::1111]:53');
    assert.equal(resolverAddress('[::1]'), '::1');
    assert.equal(resolverAddress('dns.google:53'), null);
    assert.equal(resolverAddress('1.1.1.1:0'), null);
    assert.equal(resolverAddress('1.1.1.1:99999'), null);
  });
});
