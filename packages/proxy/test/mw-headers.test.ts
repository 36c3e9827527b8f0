// The headers middleware: custom headers, security headers and CORS, through a real loopback server and curl.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { HeadersMiddleware } from '@berth/config';
import { MiddlewareConfigError } from '../src/http/context.js';
import { allowedOrigin, corsPolicy } from '../src/http/middlewares/cors-a.js';
import { headers } from '../src/http/middlewares/headers.js';
import { call, type Reply } from './support/client.js';
import {
  build,
  buildContext,
  type Echo,
  type Harness,
  type HarnessOptions,
  startHarness,
} from './support/mw-a-harness.js';

const run = promisify(execFile);
const harnesses: Harness[] = [];
after(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

async function harness(config: HeadersMiddleware, opts: HarnessOptions = {}): Promise<number> {
  const h = await startHarness(build(headers, config), opts);
  harnesses.push(h);
  return h.port;
}

function backendHeaders(h: Record<string, string>): Record<string, string> {
  return { 'x-echo-response-headers': JSON.stringify(h) };
}

describe('headers: custom headers', () => {
  it('sets request headers upstream and removes those given an empty value', async () => {
    const port = await harness({ customRequestHeaders: { 'X-Script-Name': 'test', 'X-Custom-Remove': '' } });
    const seen = JSON.parse((await call(port, { path: '/' })).body) as Echo;
    assert.equal(seen.upstreamHeaders['x-script-name'], 'test');
    assert.ok('x-custom-remove' in seen.upstreamHeaders);
    assert.equal(seen.upstreamHeaders['x-custom-remove'], null);
  });

  it('sets response headers over the backend and removes those given an empty value', async () => {
    const port = await harness({ customResponseHeaders: { 'X-Custom-Response': 'berth', Server: '' } });
    const reply = await call(port, {
      headers: backendHeaders({ 'X-Custom-Response': 'backend', Server: 'nginx', 'X-Other': 'kept' }),
    });
    assert.equal(reply.headers['x-custom-response'], 'berth');
    assert.equal(reply.headers['server'], undefined);
    assert.equal(reply.headers['x-other'], 'kept');
  });

  it('refuses a header name or value Node could not send', () => {
    assert.throws(
      () => headers({ customRequestHeaders: { 'Bad Name': 'x' } }, buildContext()),
      MiddlewareConfigError,
    );
    assert.throws(
      () => headers({ customResponseHeaders: { 'X-A': 'a\r\nb' } }, buildContext()),
      MiddlewareConfigError,
    );
  });
});

describe('headers: security headers', () => {
  const security: HeadersMiddleware = {
    stsSeconds: 31536000,
    stsIncludeSubdomains: true,
    stsPreload: true,
    frameDeny: true,
    contentTypeNosniff: true,
    browserXssFilter: true,
    contentSecurityPolicy: "default-src 'self'",
    contentSecurityPolicyReportOnly: "script-src 'self'",
    referrerPolicy: 'same-origin',
    permissionsPolicy: 'camera=()',
  };

  it('adds HSTS and the other security headers over https', async () => {
    const port = await harness(security, { scheme: 'https' });
    const h = (await call(port)).headers;
    assert.equal(h['strict-transport-security'], 'max-age=31536000; includeSubDomains; preload');
    assert.equal(h['x-frame-options'], 'DENY');
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['x-xss-protection'], '1; mode=block');
    assert.equal(h['content-security-policy'], "default-src 'self'");
    assert.equal(h['content-security-policy-report-only'], "script-src 'self'");
    assert.equal(h['referrer-policy'], 'same-origin');
    assert.equal(h['permissions-policy'], 'camera=()');
  });

  it('leaves HSTS out on plain http unless forced or a TLS proxy header says https', async () => {
    assert.equal((await call(await harness(security))).headers['strict-transport-security'], undefined);
    const forced = await harness({ stsSeconds: 60, forceSTSHeader: true });
    assert.equal((await call(forced)).headers['strict-transport-security'], 'max-age=60');
    const proxied = await harness({ stsSeconds: 60, sslProxyHeaders: { 'X-Forwarded-Proto': 'https' } });
    const reply = await call(proxied, { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(reply.headers['strict-transport-security'], 'max-age=60');
  });

  it('prefers custom values for frame options and XSS protection', async () => {
    const port = await harness({
      frameDeny: true,
      customFrameOptionsValue: 'SAMEORIGIN',
      browserXssFilter: true,
      customBrowserXSSValue: '0',
    });
    const h = (await call(port)).headers;
    assert.equal(h['x-frame-options'], 'SAMEORIGIN');
    assert.equal(h['x-xss-protection'], '0');
  });

  it('answers 500 Bad Host to a host outside allowedHosts, reading hostsProxyHeaders first', async () => {
    const port = await harness({ allowedHosts: ['good.test'], hostsProxyHeaders: ['X-Forwarded-Host'] });
    assert.equal((await call(port, { host: 'good.test' })).status, 200);
    const bad = await call(port, { host: 'evil.test' });
    assert.equal(bad.status, 500);
    assert.equal(bad.body, 'Bad Host');
    assert.equal(
      (await call(port, { host: 'evil.test', headers: { 'x-forwarded-host': 'GOOD.test' } })).status,
      200,
    );
  });

  it('skips allowedHosts and HSTS in development mode', async () => {
    const port = await harness(
      { allowedHosts: ['good.test'], stsSeconds: 60, frameDeny: true, isDevelopment: true },
      {
        scheme: 'https',
      },
    );
    const reply = await call(port, { host: 'evil.test' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['strict-transport-security'], undefined);
    assert.equal(reply.headers['x-frame-options'], 'DENY');
  });
});

describe('headers: CORS', () => {
  const cors: HeadersMiddleware = {
    accessControlAllowMethods: ['GET', 'OPTIONS', 'PUT'],
    accessControlAllowHeaders: ['Content-Type', 'X-Token'],
    accessControlAllowOriginList: ['https://app.test'],
    accessControlAllowOriginListRegex: ['(?i)^https://([a-z]+\\.)?partner\\.test$'],
    accessControlExposeHeaders: ['X-Request-Id'],
    accessControlMaxAge: 100,
    addVaryHeader: true,
  };

  it('answers a preflight itself with 200 and the Access-Control-Allow-* headers (curl)', async () => {
    const port = await harness(cors);
    const { stdout } = await run('curl', [
      '-sS',
      '-D',
      '-',
      '-o',
      '/dev/null',
      '-X',
      'OPTIONS',
      '-H',
      'Origin: https://app.test',
      '-H',
      'Access-Control-Request-Method: PUT',
      `http://127.0.0.1:${port}/api`,
    ]);
    const lines = stdout.split('\r\n');
    assert.match(lines[0] ?? '', /^HTTP\/1\.1 200/);
    const head = new Map(
      lines.slice(1).flatMap((l) => {
        const i = l.indexOf(':');
        return i < 0 ? [] : [[l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as const];
      }),
    );
    assert.equal(head.get('access-control-allow-origin'), 'https://app.test');
    assert.equal(head.get('access-control-allow-methods'), 'GET,OPTIONS,PUT');
    assert.equal(head.get('access-control-allow-headers'), 'Content-Type,X-Token');
    assert.equal(head.get('access-control-max-age'), '100');
    assert.equal(head.get('content-type'), undefined);
  });

  it('does not echo a preflight origin that is not allowed', async () => {
    const port = await harness(cors);
    const reply = await call(port, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'PUT' },
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['access-control-allow-origin'], undefined);
  });

  it('lets an OPTIONS request that is not a preflight through to the service', async () => {
    const port = await harness(cors);
    const reply = await call(port, { method: 'OPTIONS', headers: { origin: 'https://app.test' } });
    assert.equal((JSON.parse(reply.body) as Echo).method, 'OPTIONS');
  });

  it('annotates normal responses with the matching origin, exposed headers and Vary', async () => {
    const port = await harness(cors);
    const reply: Reply = await call(port, {
      headers: { origin: 'https://app.test', ...backendHeaders({ Vary: 'Accept-Encoding' }) },
    });
    assert.equal(reply.headers['access-control-allow-origin'], 'https://app.test');
    assert.equal(reply.headers['access-control-expose-headers'], 'X-Request-Id');
    assert.equal(reply.headers['vary'], 'Accept-Encoding, Origin');
    assert.equal(reply.headers['access-control-allow-credentials'], undefined);
  });

  it('matches origins against Go regexes, (?i) included', async () => {
    const port = await harness(cors);
    const reply = await call(port, { headers: { origin: 'https://EU.Partner.test' } });
    assert.equal(reply.headers['access-control-allow-origin'], 'https://EU.Partner.test');
    const other = await call(port, { headers: { origin: 'https://partner.test.evil' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  it('answers * for a wildcard list, and echoes the origin instead when credentials are on', () => {
    const open = corsPolicy({ accessControlAllowOriginList: ['*'] }, 't');
    assert.ok(open);
    assert.equal(allowedOrigin(open, 'https://a.test'), '*');
    const withCredentials = corsPolicy(
      { accessControlAllowOriginList: ['*'], accessControlAllowCredentials: true },
      't',
    );
    assert.ok(withCredentials);
    assert.equal(allowedOrigin(withCredentials, 'https://a.test'), 'https://a.test');
    assert.equal(allowedOrigin(withCredentials, ''), null);
  });

  it('echoes requested headers and method in a credentialed preflight whose lists are *', async () => {
    const port = await harness({
      accessControlAllowOriginList: ['*'],
      accessControlAllowHeaders: ['*'],
      accessControlAllowMethods: ['*'],
      accessControlAllowCredentials: true,
    });
    const reply = await call(port, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://a.test',
        'access-control-request-method': 'DELETE',
        'access-control-request-headers': 'x-a, x-b',
      },
    });
    assert.equal(reply.headers['access-control-allow-origin'], 'https://a.test');
    assert.equal(reply.headers['access-control-allow-methods'], 'DELETE');
    assert.equal(reply.headers['access-control-allow-headers'], 'x-a, x-b');
    assert.equal(reply.headers['access-control-allow-credentials'], 'true');
  });

  it('refuses an origin regex that does not compile', () => {
    assert.throws(
      () => headers({ accessControlAllowOriginListRegex: ['(?P<x'] }, buildContext()),
      MiddlewareConfigError,
    );
  });
});
