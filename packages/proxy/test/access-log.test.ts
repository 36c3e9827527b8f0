// Tests for the access log: one JSON line per request, sampling, and nothing secret in it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessLog, logAccess, shouldLog } from '../src/observability/access-log.js';
import { captureLog } from './support/log-capture.js';
import { stubContext } from './support/request-context.js';

const started = 5_000_000_000n;

describe('the access log', () => {
  it('writes one JSON line with router, service, server, status, durations and bytes', () => {
    const { logger, lines } = captureLog();
    const ctx = stubContext({
      method: 'POST',
      url: '/api/items?token=s3cret',
      host: 'api.test',
      clientIp: '203.0.113.9',
      startedAt: started,
      log: {
        router: 'api',
        service: 'api-svc',
        server: 'http://10.0.0.1:8080',
        status: 201,
        bytesOut: 512,
        upstreamHeadersAt: started + 2_500_000n,
      },
    });
    logAccess(logger, ctx, started + 12_345_678n);
    assert.equal(lines.length, 1);
    const line = lines[0] ?? {};
    assert.equal(line['msg'], 'access');
    for (const [key, value] of Object.entries({
      entryPoint: 'web',
      router: 'api',
      service: 'api-svc',
      server: 'http://10.0.0.1:8080',
      status: 201,
      durationMs: 12.346,
      upstreamMs: 2.5,
      bytesOut: 512,
      method: 'POST',
      host: 'api.test',
      path: '/api/items',
      clientIp: '203.0.113.9',
    })) {
      assert.deepEqual(line[key], value, key);
    }
    assert.equal('error' in line, false);
  });

  it('never writes headers, cookies or the query string', () => {
    const { logger, lines } = captureLog();
    const ctx = stubContext({
      url: '/login?password=hunter2',
      headers: { authorization: 'Basic dXNlcjpodW50ZXIy', cookie: 'session=abc123', 'x-api-key': 'k-999' },
      log: { status: 200 },
    });
    logAccess(logger, ctx, ctx.startedAt + 1n);
    const text = JSON.stringify(lines);
    for (const secret of ['dXNlcjpodW50ZXIy', 'abc123', 'k-999', 'hunter2', 'authorization', 'cookie']) {
      assert.equal(text.toLowerCase().includes(secret.toLowerCase()), false, secret);
    }
  });

  it('keeps the query only when asked, and cuts very long paths', () => {
    const { logger, lines } = captureLog();
    logAccess(logger, stubContext({ url: '/a?b=c', log: { status: 200 } }), 2_000_000_000n, {
      includeQuery: true,
    });
    logAccess(logger, stubContext({ url: `/${'x'.repeat(5000)}`, log: { status: 200 } }), 2_000_000_000n);
    assert.equal(lines[0]?.['path'], '/a?b=c');
    assert.equal(String(lines[1]?.['path']).length, 2049);
  });

  it('records why Berth answered itself', () => {
    const { logger, lines } = captureLog();
    logAccess(
      logger,
      stubContext({ log: { status: 503, error: 'no_server', service: 'api' } }),
      2_000_000_000n,
    );
    assert.equal(lines[0]?.['error'], 'no_server');
    assert.equal(lines[0]?.['upstreamMs'], undefined);
  });
});

describe('access log sampling', () => {
  const never = () => 0.999;
  const always = () => 0;

  it('is off without settings or when disabled', () => {
    assert.equal(shouldLog(undefined, 200, always), false);
    assert.equal(shouldLog({ enabled: false }, 500, always), false);
  });

  it('logs everything by default once enabled', () => {
    assert.equal(shouldLog({}, 200, never), true);
    assert.equal(shouldLog({ enabled: true, sampling: 1 }, 404, never), true);
  });

  it('samples successes at the configured rate but always logs 5xx and unanswered requests', () => {
    const s = { enabled: true, sampling: 0.25 };
    assert.equal(
      shouldLog(s, 200, () => 0.1),
      true,
    );
    assert.equal(
      shouldLog(s, 200, () => 0.3),
      false,
    );
    assert.equal(shouldLog(s, 502, never), true);
    assert.equal(shouldLog(s, undefined, never), true);
    assert.equal(shouldLog({ sampling: 0 }, 200, always), false);
    assert.equal(shouldLog({ sampling: 0 }, 500, never), true);
  });

  it('logs about the sampled fraction of requests', () => {
    const { logger, lines } = captureLog();
    let seed = 42;
    // A fixed linear congruential sequence: deterministic, yet spread over [0, 1).
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const log = new AccessLog(logger, { settings: { sampling: 0.1 }, random });
    for (let i = 0; i < 2000; i++) log.write(stubContext({ log: { status: i % 100 === 0 ? 500 : 200 } }), 2n);
    const ok = lines.filter((l) => l['status'] === 200).length;
    const errors = lines.filter((l) => l['status'] === 500).length;
    assert.equal(errors, 20, 'every 5xx');
    assert.ok(ok > 120 && ok < 280, `about 10% of 1980 successes, got ${ok}`);
    assert.equal(lines[0]?.['component'], 'access');
  });

  it('follows the settings of each applied snapshot', () => {
    const { logger, lines } = captureLog();
    const log = new AccessLog(logger);
    log.write(stubContext({ log: { status: 200 } }), 2n);
    log.update({ enabled: true });
    log.write(stubContext({ log: { status: 200 } }), 2n);
    log.update(undefined);
    log.write(stubContext({ log: { status: 200 } }), 2n);
    assert.equal(lines.length, 1);
  });
});
