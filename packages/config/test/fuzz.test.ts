// Feeds seeded random junk to every entry point that takes user input: none of them may throw.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileGoRegexp,
  compileRule,
  parseAddress,
  parseRule,
  parseTcpRule,
  validateDynamic,
  validateStatic,
} from '../src/index.js';
import { request } from './helpers.js';

/** mulberry32: tiny, seedable, good enough to explore input shapes reproducibly. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Real schema words in mixed case make the junk reach deep into the validator, not just bounce off the top.
const KEYS = [
  'http',
  'HTTP',
  'tcp',
  'routers',
  'Routers',
  'services',
  'web',
  'rule',
  'Rule',
  'service',
  'entryPoints',
  'middlewares',
  'priority',
  'loadBalancer',
  'loadbalancer',
  'servers',
  'url',
  'weight',
  'passHostHeader',
  'address',
  'middlewares',
  'serversTransports',
  'stripPrefix',
  'prefixes',
  'basicAuth',
  'users',
  'ipWhiteList',
  'ipAllowList',
  'sourceRange',
  'ipStrategy',
  'chain',
  'headers',
  'customRequestHeaders',
  'redirectRegex',
  'regex',
  'replacement',
  'rateLimit',
  'period',
  'compress',
  'weighted',
  'mirroring',
  'mirrors',
  'name',
  'sticky',
  'cookie',
  'sameSite',
  'healthCheck',
  'status',
  'interval',
  'passiveHealthCheck',
  'strategy',
  'forwardingTimeouts',
  'dialTimeout',
  'transport',
  'respondingTimeouts',
  'forwardedHeaders',
  'trustedIPs',
  'accessLog',
  'sampling',
  'routeRemovalGrace',
  'tls',
  'TLS',
  'passthrough',
  'certResolver',
  'domains',
  'sans',
  'options',
  'certificates',
  'certFile',
  'keyFile',
  'stores',
  'cipherSuites',
  'curvePreferences',
  'minVersion',
  'maxVersion',
  'clientAuth',
  'clientAuthType',
  'caFiles',
  'inFlightConn',
  'amount',
  'proxyProtocol',
  'version',
  'redirections',
  'entryPoint',
  'to',
  'defaultCertificate',
  'terminationDelay',
  '__proto__',
  'constructor',
  '',
  'x',
];
const WORDS = [
  'Host(`a`)',
  'Path(`/`)',
  'http://a:1',
  ':80',
  '[::1]:443',
  '',
  ' ',
  'true',
  '12',
  '-1',
  '\u0000',
  '10s',
  '2xx',
  '200-299,304',
  '10.0.0.0/8',
  '::1/129',
  '(?P<a>x)',
  '(?<=x)',
  '[[:alpha:]]',
  'user:$apr1$x$y',
  'alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
  'p2c',
  'Lax',
  'a,b',
  'HostSNI(`*`)',
  'HostSNI(`a.test`)',
  'ALPN(`h2`)',
  'db:5432',
  'websecure',
  'VersionTLS12',
  'VersionTLS13',
  'TLS_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'secp256r1',
  'RequireAndVerifyClientCert',
];
const RULE_PIECES = [
  'Host',
  'Path',
  'PathPrefix',
  'HostRegexp',
  'PathRegexp',
  'Method',
  'Header',
  'HeaderRegexp',
  'Query',
  'QueryRegexp',
  'ClientIP',
  '`^[a-z]+\\.x\\.com$`',
  '`(?i)a|b`',
  '`10.0.0.0/8`',
  '`(?=x)`',
  '`[`',
  'host',
  '(',
  ')',
  '`a`',
  '`/x`',
  '"b\\"',
  ',',
  '&&',
  '||',
  '!',
  ' ',
  '&',
  '`',
  '"',
  'é',
  '\n',
];

function junk(random: () => number, depth: number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const roll = random();
  if (depth <= 0 || roll < 0.35) {
    return pick<unknown>([null, undefined, 0, -1, 1.5, Number.NaN, true, false, pick(WORDS), 2 ** 60, -0]);
  }
  if (roll < 0.55) return Array.from({ length: Math.floor(random() * 4) }, () => junk(random, depth - 1));
  const obj: Record<string, unknown> = {};
  const size = Math.floor(random() * 5);
  for (let i = 0; i < size; i++)
    Object.defineProperty(obj, pick(KEYS), {
      value: junk(random, depth - 1),
      enumerable: true,
      configurable: true,
      writable: true,
    });
  return obj;
}

function randomRule(random: () => number): string {
  const length = Math.floor(random() * 12);
  return Array.from({ length }, () => RULE_PIECES[Math.floor(random() * RULE_PIECES.length)]!).join('');
}

describe('never-throws fuzzing', () => {
  it('validateDynamic and validateStatic return a config and well-formed errors for random input', () => {
    const random = prng(0xbe27);
    for (let i = 0; i < 3000; i++) {
      const raw = junk(random, 6);
      const dynamic = validateDynamic(raw, {
        sourceOf: (path) => (path.length % 2 ? { provider: 'fuzz', origin: path.join('.') } : undefined),
      });
      assert.equal(typeof dynamic.config.http.routers, 'object');
      assert.equal(typeof dynamic.config.http.services, 'object');
      const statics = validateStatic(raw);
      assert.equal(typeof statics.config.entryPoints, 'object');
      for (const error of [...dynamic.errors, ...statics.errors]) {
        assert.match(error.code, /^BERTH_CONFIG_[A-Z_]+$/);
        assert.equal(typeof error.path, 'string');
        assert.ok(error.message.length > 0);
      }
    }
  });

  it('whatever validateDynamic keeps has a rule that parses and server URLs that are http(s)', () => {
    const random = prng(7);
    for (let i = 0; i < 3000; i++) {
      const { config } = validateDynamic({
        http: { routers: junk(random, 3), services: junk(random, 4), middlewares: junk(random, 4) },
      });
      for (const middleware of Object.values(config.http.middlewares ?? {})) {
        assert.equal(Object.keys(middleware).length, 1);
      }
      for (const router of Object.values(config.http.routers)) assert.equal(parseRule(router.rule).ok, true);
      for (const service of Object.values(config.http.services)) {
        for (const server of service.loadBalancer?.servers ?? []) assert.match(server.url, /^https?:/i);
      }
    }
  });

  it('whatever validateDynamic keeps in tcp has a TCP rule that parses and TLS wherever the rule needs it', () => {
    const random = prng(21);
    const tlsOnly = /HostSNI\(`(?!\*`\))|HostSNIRegexp|ALPN/;
    for (let i = 0; i < 3000; i++) {
      const { config } = validateDynamic({
        tcp: { routers: junk(random, 3), services: junk(random, 4), middlewares: junk(random, 3) },
        tls: { options: junk(random, 3), certificates: junk(random, 3) },
      });
      for (const router of Object.values(config.tcp?.routers ?? {})) {
        assert.equal(parseTcpRule(router.rule).ok, true, router.rule);
        if (router.tls === undefined) assert.doesNotMatch(router.rule, tlsOnly);
      }
      for (const service of Object.values(config.tcp?.services ?? {})) {
        assert.equal(Object.keys(service).length, 1);
        for (const server of service.loadBalancer?.servers ?? []) assert.match(server.address, /:\d+$/);
      }
      for (const middleware of Object.values(config.tcp?.middlewares ?? {})) {
        assert.equal(Object.keys(middleware).length, 1);
      }
      for (const certificate of config.tls?.certificates ?? []) {
        assert.equal(typeof certificate.certFile, 'string');
        assert.equal(typeof certificate.keyFile, 'string');
      }
    }
  });

  it('parseRule returns a result with an in-range column for random rule text, and compiled rules run', () => {
    const random = prng(42);
    for (let i = 0; i < 20000; i++) {
      const rule = randomRule(random);
      const result = parseRule(rule);
      if (result.ok) {
        const compiled = compileRule(result.ast);
        assert.equal(
          typeof compiled.match(request({ host: 'a', path: '/x', query: 'a=1&b', headers: { a: 'x' } })),
          'boolean',
        );
        for (const suffix of compiled.hostSuffixes ?? []) assert.match(suffix, /^\./);
      } else {
        assert.ok(
          result.error.column >= 1 && result.error.column <= rule.length + 1,
          `${rule}: ${result.error.column}`,
        );
        assert.match(result.error.message, /column \d+/);
      }
    }
  });

  it('parseAddress returns null or a port in range for random text', () => {
    const random = prng(99);
    const chars = ':[]0123456789a.% -';
    for (let i = 0; i < 5000; i++) {
      const text = Array.from(
        { length: Math.floor(random() * 10) },
        () => chars[Math.floor(random() * chars.length)],
      ).join('');
      const parsed = parseAddress(text);
      if (parsed !== null)
        assert.ok(Number.isInteger(parsed.port) && parsed.port >= 0 && parsed.port <= 65535, text);
    }
  });

  it('compileGoRegexp answers every random pattern without throwing', () => {
    const random = prng(5);
    const pieces = [
      '(',
      ')',
      '(?P<n>',
      '(?i)',
      '(?=',
      '[',
      ']',
      '[:alpha:]',
      '\\',
      '\\z',
      '\\Q',
      '\\E',
      '\\p',
      '{',
      '}',
      'a',
      '.',
      '*',
      '+',
      '?',
      '|',
      '$',
      '^',
      '\\x{',
      '1',
      '-',
    ];
    for (let i = 0; i < 5000; i++) {
      const pattern = Array.from(
        { length: Math.floor(random() * 10) },
        () => pieces[Math.floor(random() * pieces.length)]!,
      ).join('');
      const result = compileGoRegexp(pattern);
      if (!result.ok) assert.ok(result.message.length > 0, pattern);
    }
  });

  it('files HostRegexp rules only under suffixes and hosts every matching host really has', () => {
    const random = prng(11);
    const heads = ['^', '', '(?i)^', '.+', '^[a-z]+', '^(a|b)'];
    const middles = ['', 'x', '\\.', '[a-z]*', 'a?', '.'];
    const tails = [
      '\\.example\\.com$',
      '\\.example\\.com',
      'example\\.com\\z',
      '\\.com?$',
      '|b\\.com$',
      '\\.org$',
    ];
    const labels = ['a', 'x', 'b', 'example', 'com', 'org', 'evil', 'co'];
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    for (let i = 0; i < 300; i++) {
      const pattern = pick(heads) + pick(middles) + pick(tails);
      const result = parseRule(`HostRegexp(\`${pattern}\`)`);
      if (!result.ok) continue;
      const rule = compileRule(result.ast);
      for (let j = 0; j < 200; j++) {
        const host = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(labels)).join('.');
        if (!rule.match(request({ host }))) continue;
        if (rule.hosts !== null) assert.ok(rule.hosts.includes(host), `${pattern} matched ${host}`);
        if (rule.hostSuffixes)
          assert.ok(
            rule.hostSuffixes.some((sfx) => host.endsWith(sfx)),
            `${pattern} matched ${host}`,
          );
      }
    }
  });
});
