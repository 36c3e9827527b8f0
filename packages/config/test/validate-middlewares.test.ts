// Specifies how http.middlewares are validated: one kind each, typed options, regexes, CIDRs, htpasswd.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfigError, type HttpMiddleware, validateDynamic } from '../src/index.js';

function read(middlewares: Record<string, unknown>): {
  kept: Record<string, HttpMiddleware>;
  errors: ConfigError[];
} {
  const { config, errors } = validateDynamic({ http: { middlewares } });
  return { kept: config.http.middlewares ?? {}, errors };
}

function pairs(errors: readonly ConfigError[]): Array<[string, string]> {
  return errors.map((e) => [e.code, e.path]);
}

const BCRYPT = 'alice:$2y$05$c4WoMPo3SXsafkva.HHa6uXQZWr7oboPiC2bT/r7q1BB8I2s0BRqC';
const APR1 = 'bob:$apr1$eB4FfbnI$2t1ObLVEV1lM0WtlYoMuQ/';
const SHA = 'carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=';

describe('validateDynamic http.middlewares', () => {
  it('keeps a middleware of every kind, normalising durations and the ipWhiteList alias', () => {
    const { kept, errors } = read({
      https: { redirectScheme: { scheme: 'https', port: 443, permanent: 'true' } },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Go replacement template, not a JS one.
      rx: { redirectRegex: { regex: '^http://(?P<host>[^/]+)/(.*)', replacement: 'https://${host}/$2' } },
      strip: { stripPrefix: { prefixes: '/api,/v1' } },
      stripRx: { stripPrefixRegex: { regex: ['^/[a-z]+'] } },
      add: { addPrefix: { prefix: '/base' } },
      rep: { replacePath: { path: '/x' } },
      repRx: { replacePathRegex: { regex: '^/old/(.*)', replacement: '/new/$1' } },
      hdr: {
        headers: {
          customRequestHeaders: { 'X-Env': 'prod', 'X-Drop': '' },
          accessControlAllowOriginListRegex: ['(?i)^https://.*\\.example\\.com$'],
          stsSeconds: '31536000',
          frameDeny: true,
        },
      },
      auth: { basicAuth: { users: [BCRYPT, APR1, SHA], realm: 'r', removeHeader: true } },
      allow: { ipWhiteList: { sourceRange: ['10.0.0.0/8', '::1'], ipStrategy: { depth: 1 } } },
      rl: {
        rateLimit: { average: 100, burst: 50, period: 2, sourceCriterion: { requestHeaderName: 'X-Key' } },
      },
      inflight: { inFlightReq: { amount: '10' } },
      retry: { retry: { attempts: 3, initialInterval: '100ms' } },
      gzip: { compress: { encodings: ['gzip', 'br'], minResponseBodyBytes: 1024 } },
      buf: { buffering: { maxRequestBodyBytes: 1048576 } },
      chain: { chain: { middlewares: ['strip', 'hdr'] } },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(kept['https'], { redirectScheme: { scheme: 'https', port: '443', permanent: true } });
    assert.deepEqual(kept['strip'], { stripPrefix: { prefixes: ['/api', '/v1'] } });
    assert.deepEqual(kept['allow'], {
      ipAllowList: { sourceRange: ['10.0.0.0/8', '::1'], ipStrategy: { depth: 1 } },
    });
    assert.deepEqual(kept['rl']?.rateLimit?.period, '2s');
    assert.equal(kept['inflight']?.inFlightReq?.amount, 10);
    assert.equal(kept['hdr']?.headers?.stsSeconds, 31536000);
    assert.deepEqual(kept['hdr']?.headers?.customRequestHeaders, { 'X-Env': 'prod', 'X-Drop': '' });
    assert.deepEqual(kept['auth']?.basicAuth?.users, [BCRYPT, APR1, SHA]);
    assert.equal(Object.keys(kept).length, 16);
  });

  it('reads the all-strings form Docker labels produce, keys in any case', () => {
    const { kept, errors } = read({
      rl: {
        ratelimit: { average: '100', burst: '50', period: '1m', sourcecriterion: { requesthost: 'true' } },
      },
      allow: { ipwhitelist: { sourcerange: '10.0.0.0/8, 192.168.0.0/16', rejectstatuscode: '404' } },
      hsts: {
        headers: {
          stsseconds: '63072000',
          stsincludesubdomains: 'TRUE',
          accesscontrolallowmethods: 'GET,POST',
        },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(kept, {
      rl: { rateLimit: { average: 100, burst: 50, period: '1m', sourceCriterion: { requestHost: true } } },
      allow: { ipAllowList: { sourceRange: ['10.0.0.0/8', '192.168.0.0/16'], rejectStatusCode: 404 } },
      hsts: {
        headers: {
          stsSeconds: 63072000,
          stsIncludeSubdomains: true,
          accessControlAllowMethods: ['GET', 'POST'],
        },
      },
    });
  });

  it('reads rateLimit.redis with every Traefik v3 option and Berth failOpen, also in the label form', () => {
    const { kept, errors } = read({
      rl: {
        ratelimit: {
          average: '100',
          redis: {
            endpoints: 'redis-a:6379,[::1]:6380',
            username: 'berth',
            password: 'hunter2',
            db: '2',
            tls: { ca: '/etc/ca.pem', insecureskipverify: 'false' },
            poolsize: '8',
            minidleconns: '1',
            maxactiveconns: '16',
            readtimeout: '200ms',
            writetimeout: '100ms',
            dialtimeout: '1s',
            failopen: 'true',
          },
        },
      },
      bad: { rateLimit: { redis: { endpoints: ['redis://x:6379'], db: -1, failOpen: 'maybe' } } },
    });
    assert.deepEqual(kept.rl, {
      rateLimit: {
        average: 100,
        redis: {
          endpoints: ['redis-a:6379', '[::1]:6380'],
          username: 'berth',
          password: 'hunter2',
          db: 2,
          tls: { ca: '/etc/ca.pem', insecureSkipVerify: false },
          poolSize: 8,
          minIdleConns: 1,
          maxActiveConns: 16,
          readTimeout: '200ms',
          writeTimeout: '100ms',
          dialTimeout: '1s',
          failOpen: true,
        },
      },
    });
    assert.deepEqual(
      pairs(errors).map(([, path]) => path),
      [
        'http.middlewares.bad.rateLimit.redis.endpoints.0',
        'http.middlewares.bad.rateLimit.redis.db',
        'http.middlewares.bad.rateLimit.redis.failOpen',
      ],
    );
  });

  it('reads a kind with no options, or the label form `compress=true`, as all defaults', () => {
    const { kept, errors } = read({ a: { compress: null }, b: { compress: 'true' }, c: { buffering: {} } });
    assert.deepEqual(errors, []);
    assert.deepEqual(kept, { a: { compress: {} }, b: { compress: {} }, c: { buffering: {} } });
  });

  it('refuses a middleware with no kind or several, with MIDDLEWARE_KIND', () => {
    const { kept, errors } = read({
      none: {},
      two: { addPrefix: { prefix: '/a' }, stripPrefix: { prefixes: ['/b'] } },
      both: { ipAllowList: { sourceRange: ['1.2.3.4'] }, ipWhiteList: { sourceRange: ['1.2.3.4'] } },
    });
    assert.deepEqual(kept, {});
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_MIDDLEWARE_KIND', 'http.middlewares.none'],
      ['BERTH_CONFIG_MIDDLEWARE_KIND', 'http.middlewares.two'],
      ['BERTH_CONFIG_MIDDLEWARE_KIND', 'http.middlewares.both'],
    ]);
    assert.match(errors[1]!.message, /several kinds \(addPrefix, stripPrefix\)/);
  });

  it('reports Traefik middlewares Berth lacks as unsupported, without a kind error on top', () => {
    const { errors } = read({ p: { plugin: { demo: { x: 1 } } } });
    assert.deepEqual(pairs(errors), [['BERTH_CONFIG_UNSUPPORTED', 'http.middlewares.p.plugin']]);
  });

  it('reads errors status ranges from lists, numbers and label strings, and refuses what is no range', () => {
    const { kept, errors } = read({
      list: { errors: { status: ['500-599', 404], service: 'pages', query: '/{status}' } },
      label: {
        errors: {
          status: '500-599,404',
          service: 'pages',
          statusRewrites: { '418': '404' },
          errorRequestHeaders: [],
        },
      },
      bad: { errors: { status: ['5xx0'], service: 'pages' } },
      noService: { errors: { status: ['500'] } },
    });
    assert.deepEqual(kept, {
      list: { errors: { status: ['500-599', '404'], service: 'pages', query: '/{status}' } },
      label: {
        errors: {
          status: ['500-599', '404'],
          service: 'pages',
          statusRewrites: { '418': 404 },
          errorRequestHeaders: [],
        },
      },
    });
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.bad.errors.status'],
      ['BERTH_CONFIG_REQUIRED', 'http.middlewares.noService.errors.service'],
    ]);
  });

  it('takes contentType with or without autoDetect, and grpcWeb with its allowOrigins', () => {
    const { kept, errors } = read({
      ct: { contentType: {} },
      off: { contentType: { autoDetect: false } },
      grpc: { grpcWeb: { allowOrigins: ['*'] } },
      none: { grpcWeb: {} },
      label: { grpcWeb: { allowOrigins: 'https://a.test' } },
      bad: { grpcWeb: { allowHeaders: ['x'] } },
    });
    assert.deepEqual(kept['ct'], { contentType: {} });
    assert.deepEqual(kept['off'], { contentType: { autoDetect: false } });
    assert.deepEqual(kept['grpc'], { grpcWeb: { allowOrigins: ['*'] } });
    assert.deepEqual(kept['none'], { grpcWeb: {} });
    // A label gives the list as one comma-separated string.
    assert.deepEqual(kept['label'], { grpcWeb: { allowOrigins: ['https://a.test'] } });
    assert.equal(kept['bad'], undefined);
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'http.middlewares.bad.grpcWeb.allowHeaders'],
    ]);
  });

  it('keeps headers options Traefik v3 accepts and ignores, with a warning naming each', () => {
    const { kept, errors } = read({
      h: {
        headers: { SSLRedirect: 'true', sslHost: 'x.test', featurePolicy: "camera 'none'", frameDeny: true },
      },
    });
    assert.deepEqual(kept, { h: { headers: { frameDeny: true } } });
    assert.deepEqual(
      errors.map((e) => [e.code, e.path, e.severity]),
      [
        ['BERTH_CONFIG_IGNORED_FIELD', 'http.middlewares.h.headers.SSLRedirect', 'warning'],
        ['BERTH_CONFIG_IGNORED_FIELD', 'http.middlewares.h.headers.sslHost', 'warning'],
        ['BERTH_CONFIG_IGNORED_FIELD', 'http.middlewares.h.headers.featurePolicy', 'warning'],
      ],
    );
    assert.match(errors[0]!.message, /'SSLRedirect' is ignored/);
  });

  it('reads forwardAuth with every Traefik v3 option, and requires an http(s) address', () => {
    const { kept, errors } = read({
      fa: {
        forwardAuth: {
          address: 'http://authelia:9091/api/authz/forward-auth',
          trustForwardHeader: 'true',
          authResponseHeaders: 'Remote-User,Remote-Groups',
          authResponseHeadersRegex: '^X-',
          authRequestHeaders: ['Cookie'],
          addAuthCookiesToResponse: ['sid'],
          maxResponseBodySize: '8192',
          maxBodySize: -1,
          forwardBody: true,
          preserveLocationHeader: true,
          preserveRequestMethod: false,
          headerField: 'X-User',
          authSigninURL: 'https://login.test/',
          tls: { ca: 'ca.pem', insecureSkipVerify: true },
        },
      },
      bad: { forwardAuth: { address: 'ftp://x' } },
      none: { forwardAuth: { trustForwardHeader: true } },
    });
    assert.deepEqual(Object.keys(kept), ['fa']);
    assert.equal(kept['fa']!.forwardAuth!.maxResponseBodySize, 8192);
    assert.deepEqual(kept['fa']!.forwardAuth!.authResponseHeaders, ['Remote-User', 'Remote-Groups']);
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_INVALID_URL', 'http.middlewares.bad.forwardAuth.address'],
      ['BERTH_CONFIG_REQUIRED', 'http.middlewares.none.forwardAuth.address'],
    ]);
  });

  it('reads digestAuth users as user:realm:hash, warning about a hash nobody can match', () => {
    const { kept, errors } = read({
      d: { digestAuth: { users: 'test:traefik:a2688e031edb4be6a3797f3882655c05, x:traefik:nothex' } },
      bad: { digestAuth: { users: ['test:a2688e031edb4be6a3797f3882655c05'] } },
    });
    assert.deepEqual(Object.keys(kept), ['d']);
    assert.deepEqual(
      errors.map((e) => [e.code, e.path, e.severity]),
      [
        ['BERTH_CONFIG_INVALID_HTPASSWD', 'http.middlewares.d.digestAuth.users.1', 'warning'],
        ['BERTH_CONFIG_INVALID_HTPASSWD', 'http.middlewares.bad.digestAuth.users.0', undefined],
      ],
    );
  });

  it('reads passTLSClientCert with its info fields', () => {
    const { kept, errors } = read({
      p: {
        passTLSClientCert: {
          pem: 'true',
          info: {
            notAfter: true,
            sans: true,
            subject: { commonName: true, organizationalUnit: true },
            issuer: { country: true },
          },
        },
      },
    });
    assert.deepEqual(errors, []);
    assert.equal(kept['p']!.passTLSClientCert!.info!.subject!.organizationalUnit, true);
  });

  it('refuses bad regexes with INVALID_REGEX at the field', () => {
    const { kept, errors } = read({
      a: { redirectRegex: { regex: '(?<=x)', replacement: '/' } },
      b: { stripPrefixRegex: { regex: ['^/ok', '(a)\\1'] } },
      c: { headers: { accessControlAllowOriginListRegex: ['['] } },
    });
    assert.deepEqual(kept, {});
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_INVALID_REGEX', 'http.middlewares.a.redirectRegex.regex'],
      ['BERTH_CONFIG_INVALID_REGEX', 'http.middlewares.b.stripPrefixRegex.regex.1'],
      ['BERTH_CONFIG_INVALID_REGEX', 'http.middlewares.c.headers.accessControlAllowOriginListRegex.0'],
    ]);
  });

  it('refuses bad CIDRs with INVALID_CIDR', () => {
    const { errors } = read({
      a: { ipAllowList: { sourceRange: ['10.0.0.0/33'] } },
      b: { ipAllowList: { sourceRange: ['1.2.3.4'], ipStrategy: { excludedIPs: ['nope'] } } },
    });
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_INVALID_CIDR', 'http.middlewares.a.ipAllowList.sourceRange.0'],
      ['BERTH_CONFIG_INVALID_CIDR', 'http.middlewares.b.ipAllowList.ipStrategy.excludedIPs.0'],
    ]);
  });

  it('refuses plain-text and malformed htpasswd lines, naming the user but never the secret', () => {
    const { errors } = read({
      plain: { basicAuth: { users: ['dave:hunter2'] } },
      crypt: { basicAuth: { users: ['erin:rl0Q3JYb4Uj4I'] } },
      broken: { basicAuth: { users: ['frank:$2y$05$short'] } },
      nocolon: { basicAuth: { users: ['s3cretwithoutuser'] } },
    });
    assert.deepEqual(
      errors.map((e) => e.code),
      Array(4).fill('BERTH_CONFIG_INVALID_HTPASSWD'),
    );
    assert.match(errors[0]!.message, /user 'dave'/);
    for (const secret of ['hunter2', 'rl0Q3JYb4Uj4I', '$2y$05$short', 's3cretwithoutuser']) {
      for (const error of errors) assert.equal(error.message.includes(secret), false, error.message);
    }
  });

  it('never repeats a string written where basicAuth options belong', () => {
    const { errors } = read({ a: { basicAuth: 'admin:hunter2' } });
    assert.deepEqual(pairs(errors), [['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.a.basicAuth']]);
    assert.equal(errors[0]!.message.includes('hunter2'), false);
  });

  it('requires users or usersFile on basicAuth', () => {
    const { errors } = read({ a: { basicAuth: { realm: 'x' } } });
    assert.deepEqual(pairs(errors), [['BERTH_CONFIG_REQUIRED', 'http.middlewares.a.basicAuth']]);
  });

  it('type-checks options and requires the ones a kind cannot do without', () => {
    const { kept, errors } = read({
      a: { stripPrefix: {} },
      b: { retry: { attempts: 0 } },
      c: { inFlightReq: { amount: 'many' } },
      d: { rateLimit: { period: 'soon' } },
      e: { headers: { frameDeny: 'maybe' } },
      f: { compress: { encodings: ['deflate'] } },
      g: { ipAllowList: { sourceRange: ['1.1.1.1'], rejectStatusCode: 99 } },
      h: { chain: { middlewares: [] } },
      i: { headers: { customRequestHeaders: { 'X-A': { nested: true } } } },
      j: { compress: { includedContentTypes: ['text/html'], excludedContentTypes: ['image/png'] } },
    });
    assert.deepEqual(kept, {});
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_REQUIRED', 'http.middlewares.a.stripPrefix.prefixes'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.b.retry.attempts'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.c.inFlightReq.amount'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.d.rateLimit.period'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.e.headers.frameDeny'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.f.compress.encodings.0'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.g.ipAllowList.rejectStatusCode'],
      ['BERTH_CONFIG_REQUIRED', 'http.middlewares.h.chain.middlewares'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.i.headers.customRequestHeaders.X-A'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.j.compress'],
    ]);
  });

  it('refuses header names and values Node would throw on, so the proxy never meets them', () => {
    const { kept, errors } = read({
      a: { headers: { customRequestHeaders: { 'Bad Name': 'x' } } },
      b: { headers: { customResponseHeaders: { 'X-Ok': 'line\r\nSet-Cookie: evil=1' } } },
      c: { headers: { contentSecurityPolicy: "default-src 'self'\n" } },
      d: { basicAuth: { users: ['u:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='], realm: 'say "hi"' } },
      e: { rateLimit: { sourceCriterion: { requestHeaderName: 'X Key' } } },
      f: { headers: { accessControlExposeHeaders: ['X-Ok', 'not ok'] } },
      g: { addPrefix: { prefix: '/a b' } },
      h: { redirectRegex: { regex: '.*', replacement: 'https://x/\r\n' } },
    });
    assert.deepEqual(kept, {});
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.a.headers.customRequestHeaders.Bad Name'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.b.headers.customResponseHeaders.X-Ok'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.c.headers.contentSecurityPolicy'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.d.basicAuth.realm'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.e.rateLimit.sourceCriterion.requestHeaderName'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.f.headers.accessControlExposeHeaders.1'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.g.addPrefix.prefix'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.h.redirectRegex.replacement'],
    ]);
  });

  it('requires a scheme of http or https on redirectScheme, and a real port', () => {
    const { errors } = read({
      a: { redirectScheme: { port: '443' } },
      b: { redirectScheme: { scheme: 'ftp' } },
      c: { redirectScheme: { scheme: 'https', port: '70000' } },
    });
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_REQUIRED', 'http.middlewares.a.redirectScheme.scheme'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.b.redirectScheme.scheme'],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.middlewares.c.redirectScheme.port'],
    ]);
  });

  it('drops only the broken middleware and reports unknown option names', () => {
    const { kept, errors } = read({
      good: { addPrefix: { prefix: '/a' } },
      typo: { addPrefix: { prefx: '/a' } },
    });
    assert.deepEqual(Object.keys(kept), ['good']);
    assert.deepEqual(pairs(errors), [
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'http.middlewares.typo.addPrefix.prefx'],
      ['BERTH_CONFIG_REQUIRED', 'http.middlewares.typo.addPrefix.prefix'],
    ]);
  });
});
