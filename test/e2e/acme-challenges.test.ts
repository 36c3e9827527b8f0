// Issue 14, done when 2 and 3: TLS-ALPN-01 answered by two proxy nodes (the challenge certificate
// travels in a snapshot), and a DNS-01 wildcard through the `httpreq` provider into
// pebble-challtestsrv's DNS, both ordered by a controller child process from a real pebble.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpreqTranslator } from '@berth/controller/test-support/httpreq-translator';
import { acmeCert, curlVerified, type Setup, setUp, tearDown } from '../helpers/acme-cluster.js';
import { eventually } from '../helpers/cluster.js';
import { pebbleSkip } from '../helpers/pebble.js';

const skip = await pebbleSkip();

/** curl to every node for `host` until it answers 200 with a chain pebble's root verifies. */
async function servedVerified(s: Setup, host: string): Promise<void> {
  for (const node of s.nodes) {
    const answer = await eventually(
      async () => {
        const r = await curlVerified(node.address, node.securePort, host, s.rootFile).catch(() => null);
        return r?.status === 200 ? r : null;
      },
      20_000,
      () => s.cluster.logs(),
    );
    assert.equal(answer.verify, 0, `node ${node.name}: chain verified against pebble's root`);
  }
}

describe('ACME TLS-ALPN-01 through two proxy nodes (pebble)', { skip }, () => {
  let s: Setup | undefined;
  before(async () => {
    s = await setUp({ challenge: () => ['      tlsChallenge: {}'], secureOnTlsPort: true });
  });
  after(() => tearDown(s));

  it('pebble validates each name through a different node; both nodes serve the certificate', async () => {
    const setup = s as Setup;
    const cert = await acmeCert(setup.cluster, (c) => c.status === 'enabled');
    assert.deepEqual([...cert.names].sort(), ['app.example.test', 'www.example.test']);
    assert.equal(cert.acme?.lastError, null);
    await servedVerified(setup, 'app.example.test');
    await servedVerified(setup, 'www.example.test');
    const body = await setup.cluster.api<{ body: { acme?: unknown } }>('/api/v1/snapshot/body');
    assert.equal(body.body.acme, undefined, 'the challenge certificates were withdrawn');
  });
});

describe('ACME DNS-01 wildcard through httpreq (pebble, challtestsrv DNS)', { skip }, () => {
  let s: Setup | undefined;
  let translator: HttpreqTranslator | undefined;
  before(async () => {
    s = await setUp({
      noFileRouter: true,
      challenge: async (pebble) => {
        translator = new HttpreqTranslator(pebble.challtestsrvUrl);
        const endpoint = await translator.listen();
        return [
          '      dnsChallenge:',
          '        provider: httpreq',
          `        resolvers: ["${pebble.dnsServer}"]`,
          '        httpreq:',
          `          endpoint: ${endpoint}`,
          '          pollingInterval: 200ms',
        ];
      },
    });
    await s.pebble.addA('shop.example.test', '127.0.0.1');
    await s.cluster.writeDynamic(
      'wild.yaml',
      [
        'http:',
        '  routers:',
        '    wild:',
        '      rule: HostRegexp(`^[a-z]+\\.example\\.test$`)',
        '      entryPoints: [websecure]',
        '      service: app',
        '      tls:',
        '        certResolver: le',
        '        domains:',
        '          - main: "*.example.test"',
        '            sans: [example.test]',
        '  services:',
        '    app:',
        '      loadBalancer:',
        `        servers: [{ url: "${s.backend.url}" }]`,
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await tearDown(s);
    await translator?.close();
  });

  it('obtains *.example.test (+ example.test) with TXT records in challtestsrv; both nodes serve it', async () => {
    const setup = s as Setup;
    const cert = await acmeCert(setup.cluster, (c) => c.status === 'enabled');
    assert.deepEqual(cert.names, ['*.example.test', 'example.test']);
    assert.equal(cert.acme?.challenge, 'dns-01');
    await servedVerified(setup, 'shop.example.test');
    // lego's httpreq protocol: /present then /cleanup, once per name.
    const paths = (translator?.calls ?? []).map((c) => c.path);
    assert.equal(paths.filter((p) => p.endsWith('/present')).length, 2);
    assert.equal(paths.filter((p) => p.endsWith('/cleanup')).length, 2);
  });
});
