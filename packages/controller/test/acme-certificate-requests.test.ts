import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AcmeErrorCodes } from '../src/acme/acme-errors.js';
import { certificateRequests, ruleHosts } from '../src/acme/certificate-requests.js';
import { type AcmeResolverSettings, parseCertificatesResolvers } from '../src/acme/resolver-settings.js';

const { resolvers } = parseCertificatesResolvers({
  le: { acme: { httpChallenge: { entryPoint: 'web' } } },
  dns: {
    acme: { dnsChallenge: { provider: 'httpreq', httpreq: { endpoint: 'https://dns.example.com/acme' } } },
  },
});
const known: ReadonlyMap<string, AcmeResolverSettings> = resolvers;

describe('certificate requests from routers', () => {
  it('takes the names of Host(...) matchers, the first as the main domain, and skips routers without a resolver', () => {
    const { requests, errors } = certificateRequests(
      {
        http: {
          app: {
            rule: 'Host(`App.example.com`) || (Host(`www.example.com`) && PathPrefix(`/x`))',
            tls: { certResolver: 'le' },
          },
          plain: { rule: 'Host(`plain.example.com`)', tls: {} },
          none: { rule: 'Host(`none.example.com`)' },
        },
      },
      known,
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [
      { resolver: 'le', domains: ['app.example.com', 'www.example.com'], routers: ['http.routers.app'] },
    ]);
  });

  it('prefers tls.domains (one certificate per entry) and shares a certificate between routers with the same names', () => {
    const { requests } = certificateRequests(
      {
        http: {
          a: {
            rule: 'Host(`ignored.example.com`)',
            tls: {
              certResolver: 'le',
              domains: [{ main: 'example.com', sans: ['www.example.com'] }, { main: 'api.example.com' }],
            },
          },
          b: { rule: 'Host(`www.example.com`) || Host(`example.com`)', tls: { certResolver: 'le' } },
        },
        tcp: { db: { rule: 'HostSNI(`api.example.com`)', tls: { certResolver: 'le' } } },
      },
      known,
    );
    assert.deepEqual(requests, [
      {
        resolver: 'le',
        domains: ['example.com', 'www.example.com'],
        routers: ['http.routers.a', 'http.routers.b'],
      },
      { resolver: 'le', domains: ['api.example.com'], routers: ['http.routers.a', 'tcp.routers.db'] },
    ]);
  });

  it('reports an unknown resolver, a rule without names and a wildcard without DNS-01, per router', () => {
    const { requests, errors } = certificateRequests(
      {
        http: {
          typo: { rule: 'Host(`a.example.com`)', tls: { certResolver: 'letsencrypt' } },
          regexp: { rule: 'HostRegexp(`^.+\\.example\\.com$`)', tls: { certResolver: 'le' } },
          wild: {
            rule: 'Host(`x.example.com`)',
            tls: { certResolver: 'le', domains: [{ main: '*.example.com' }] },
          },
          wildDns: {
            rule: 'Host(`x.example.com`)',
            tls: { certResolver: 'dns', domains: [{ main: '*.example.com' }] },
          },
          underscore: {
            rule: 'Host(`x.test`)',
            tls: { certResolver: 'le', domains: [{ main: 'bad_name.example.com' }] },
          },
        },
      },
      known,
    );
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [
        [AcmeErrorCodes.RESOLVER_UNKNOWN, 'http.routers.typo.tls.certResolver'],
        [AcmeErrorCodes.NO_DOMAIN, 'http.routers.regexp.tls'],
        [AcmeErrorCodes.DOMAIN_INVALID, 'http.routers.wild.tls'],
        [AcmeErrorCodes.DOMAIN_INVALID, 'http.routers.underscore.tls'],
      ],
    );
    assert.match(
      errors[0]?.message ?? '',
      /"letsencrypt" is not a configured certificate resolver \(le, dns\)/,
    );
    assert.match(errors[2]?.message ?? '', /"\*\.example\.com" needs a DNS-01 resolver; "le" uses http-01/);
    assert.deepEqual(requests, [
      { resolver: 'dns', domains: ['*.example.com'], routers: ['http.routers.wildDns'] },
    ]);
  });

  it('reads Host and HostSNI names from any position of the rule, never from a negation', () => {
    assert.deepEqual(ruleHosts('Host(`a.test`, `b.test`) && !Host(`c.test`)'), ['a.test', 'b.test']);
    assert.deepEqual(ruleHosts('HostSNI(`*`)', true), []);
    assert.deepEqual(ruleHosts('HostSNI(`db.test`) || ALPN(`h2`)', true), ['db.test']);
    assert.deepEqual(ruleHosts('Host(`unclosed'), []);
  });
});
