// AcmeManager's schedule, statuses and challenge board with a fake resolver, a fake clock and node:test's mock timers: no CA, no sockets.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { Source } from '@berth/config';
import pino from 'pino';
import { AcmeError, AcmeErrorCodes } from '../src/acme/acme-errors.js';
import {
  AcmeManager,
  type AcmeManagerTiming,
  type PublishedVersion,
  type ResolverLike,
} from '../src/acme/acme-manager.js';
import type { AcmeResolverOptions, ChallengeBoard } from '../src/acme/acme-resolver.js';
import type { StoredCertificate } from '../src/acme/acme-storage.js';
import type { CertificateRequest } from '../src/acme/certificate-requests.js';
import type { AcmeResolverSettings } from '../src/acme/resolver-settings.js';
import { resolverSettings } from './support/acme-settings.js';

const SECOND = 1000;
const DAY = 24 * 3600 * SECOND;
const T0 = Date.UTC(2026, 0, 1);
const request: CertificateRequest = {
  resolver: 'le',
  domains: ['app.example.test', 'www.example.test'],
  routers: ['http.routers.app', 'http.routers.www'],
};

function certificate(notBefore: number, lifetimeMs = 90 * DAY): StoredCertificate {
  return {
    domains: [...request.domains],
    keyType: 'EC256',
    caServer: 'https://ca.test/dir',
    certPem: `CERT ${notBefore}`,
    keyPem: `KEY ${notBefore}`,
    notBefore,
    notAfter: notBefore + lifetimeMs,
    issuedAt: new Date(notBefore).toISOString(),
  };
}

interface HarnessOptions {
  nodes?: number;
  stored?: StoredCertificate | null;
  /** What the fake CA does for the n-th order (1-based); default: a 90-day certificate issued now. */
  obtain?: (n: number) => Promise<StoredCertificate>;
  settings?: Partial<AcmeResolverSettings>;
  timing?: AcmeManagerTiming;
  publish?: (reason: string) => Promise<PublishedVersion | null>;
  whenApplied?: () => Promise<void>;
  /** stored() rejects with it (an unreadable storage file). */
  storedError?: Error;
  /** The CA's ARI answer for a certificate (absent: the CA offers no ARI). */
  renewalInfo?: ResolverLike['renewalInfo'];
}

/** A manager with one resolver `le` whose CA is a function; time moves only when the test says. */
function harness(t: TestContext, o: HarnessOptions = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  // Backoff and window jitter at their lowest: exact instants to assert on.
  t.mock.method(Math, 'random', () => 0);
  const clock = { now: T0 };
  let nodes = o.nodes ?? 1;
  const nodeListeners = new Set<() => void>();
  const orders: { at: number; domains: readonly string[] }[] = [];
  const published: string[] = [];
  const applied: { epoch: string; version: number; signal: AbortSignal }[] = [];
  const board: { current: ChallengeBoard | null } = { current: null };
  let version = 0;
  let closed = 0;
  const settings = resolverSettings('https://ca.test/dir', '/dev/null', o.settings ?? {});
  const manager: AcmeManager = new AcmeManager({
    resolvers: new Map([['le', settings]]),
    dataDir: '/nonexistent',
    logger: pino({ level: 'silent' }),
    publish:
      o.publish ??
      (async (reason) => {
        published.push(reason);
        version++;
        return { epoch: 'epoch-1', version, acme: manager.challenges() };
      }),
    whenApplied: async (epoch, v, signal) => {
      applied.push({ epoch, version: v, signal });
      await o.whenApplied?.();
    },
    connectedNodes: () => nodes,
    onNodesChange: (cb) => {
      nodeListeners.add(cb);
      return () => nodeListeners.delete(cb);
    },
    timing: { maxJitterMs: 0, minRetryMs: SECOND, minRenewalGapMs: 10 * SECOND, ...o.timing },
    now: () => clock.now,
    createResolver: (options: AcmeResolverOptions): ResolverLike => {
      board.current = options.board;
      return {
        name: options.settings.name,
        settings: options.settings,
        stored: async () => {
          if (o.storedError) throw o.storedError;
          return o.stored ?? null;
        },
        obtain: async (domains) => {
          orders.push({ at: clock.now, domains });
          return o.obtain ? o.obtain(orders.length) : certificate(clock.now);
        },
        close: () => {
          closed++;
        },
        ...(o.renewalInfo ? { renewalInfo: o.renewalInfo } : {}),
      };
    },
  });
  t.after(() => manager.close());
  /** Fires the timers due now and lets every pending promise chain run (setImmediate is not mocked). */
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      t.mock.timers.tick(0);
      await new Promise((r) => setImmediate(r));
    }
  };
  return {
    manager,
    clock,
    orders,
    published,
    applied,
    board: () => {
      assert.ok(board.current, 'the manager gave its resolver a board');
      return board.current;
    },
    closed: () => closed,
    settle,
    /** Moves the clock and the timers together, in steps, so each timer fires at its own instant. */
    async advance(ms: number, step = 100) {
      for (let done = 0; done < ms; done += step) {
        const d = Math.min(step, ms - done);
        clock.now += d;
        t.mock.timers.tick(d);
        await settle();
      }
    },
    setNodes(n: number) {
      nodes = n;
      for (const cb of nodeListeners) cb();
    },
    listeners: () => nodeListeners.size,
  };
}

const only = <T>(list: T[]): T => {
  assert.equal(list.length, 1);
  return list[0] as T;
};

describe('AcmeManager', () => {
  it('serves a stored valid certificate at once and orders nothing until its renewal window', async (t) => {
    const stored = certificate(T0 - DAY);
    const h = harness(t, { stored });
    await h.manager.sync([request]);
    assert.deepEqual(h.manager.certificates(), [
      {
        resolver: 'le',
        domains: stored.domains,
        routers: request.routers,
        certPem: stored.certPem,
        keyPem: stored.keyPem,
      },
    ]);
    await h.advance(5 * SECOND);
    assert.equal(h.orders.length, 0);
    const s = only(h.manager.status());
    assert.equal(s.state, 'valid');
    assert.equal(s.nextReason, 'window');
    // A third of 90 days before expiry, no jitter (maxJitterMs 0).
    assert.equal(s.nextAttemptAt, new Date(stored.notAfter - 30 * DAY).toISOString());
    assert.equal(s.notAfter, new Date(stored.notAfter).toISOString());
    assert.equal(s.orders, 0);
    assert.equal(s.failures, 0);
    assert.equal(s.challenge, 'http-01');
    assert.deepEqual(h.manager.errors(new Map()), []);
  });

  it('orders a missing certificate once when a node is connected, then publishes it', async (t) => {
    const h = harness(t);
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(h.orders.length, 1);
    assert.deepEqual(h.orders[0]?.domains, request.domains);
    assert.deepEqual(h.published, ['acme certificate obtained']);
    const s = only(h.manager.status());
    assert.equal(s.state, 'valid');
    assert.equal(s.orders, 1);
    assert.equal(s.lastSuccessAt, new Date(T0).toISOString());
    assert.equal(s.nextReason, 'window');
    assert.equal(only(h.manager.certificates()).certPem, `CERT ${T0}`);
    // A second sync with the same request (every compile does one) orders nothing more.
    await h.manager.sync([{ ...request, domains: ['WWW.example.test', 'app.example.test'] }]);
    await h.advance(SECOND);
    assert.equal(h.orders.length, 1);
  });

  it('waits for a connected node before an HTTP-01 order, and orders when one connects', async (t) => {
    const h = harness(t, { nodes: 0 });
    await h.manager.sync([request]);
    await h.advance(SECOND);
    assert.equal(h.orders.length, 0);
    let s = only(h.manager.status());
    assert.equal(s.state, 'waiting-for-node');
    assert.equal(s.nextAttemptAt, null);
    assert.deepEqual(h.manager.certificates(), []);
    h.setNodes(0); // a node change that leaves none connected changes nothing
    await h.advance(SECOND);
    assert.equal(h.orders.length, 0);
    h.setNodes(1);
    await h.advance(100);
    assert.equal(h.orders.length, 1);
    s = only(h.manager.status());
    assert.equal(s.state, 'valid');
    assert.equal(s.orders, 1);
  });

  it('keeps the reason of a renewal that waited for a node (not "missing")', async (t) => {
    let finish: (c: StoredCertificate) => void = () => {};
    const h = harness(t, {
      nodes: 0,
      // Issued a day ago, with a window of its whole lifetime: due now.
      stored: certificate(T0 - DAY),
      settings: { renewBefore: { fraction: 1 } },
      obtain: () => new Promise((resolve) => (finish = resolve)),
    });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(only(h.manager.status()).state, 'waiting-for-node');
    h.setNodes(1);
    await h.settle();
    assert.equal(h.orders.length, 1);
    const s = only(h.manager.status());
    assert.equal(s.state, 'ordering');
    assert.equal(s.nextReason, 'window');
    finish(certificate(h.clock.now));
    await h.settle();
    assert.equal(only(h.manager.status()).state, 'valid');
  });

  it('does not wait for nodes with a DNS-01 resolver', async (t) => {
    const h = harness(t, {
      nodes: 0,
      settings: {
        challenge: {
          type: 'dns-01',
          provider: 'httpreq',
          providerSettings: {
            name: 'httpreq',
            endpoint: 'http://127.0.0.1:9/acme',
            mode: 'default',
            username: null,
            password: null,
            httpTimeoutMs: 1000,
          },
          resolvers: [],
          propagation: {
            delayBeforeChecksMs: 0,
            disableChecks: true,
            requireAllResolvers: false,
            timeoutMs: 1000,
            intervalMs: 100,
          },
        },
      },
    });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(h.orders.length, 1);
  });

  it("honours the CA's Retry-After, reports the failure on every router, and a success clears it", async (t) => {
    const retryAfterMs = 30 * SECOND;
    const h = harness(t, {
      obtain: async (n) => {
        if (n === 1)
          throw new AcmeError(AcmeErrorCodes.RATE_LIMITED, 'le', request.domains, 'too many orders', {
            retryAfterMs,
          });
        return certificate(T0 + retryAfterMs);
      },
    });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(h.orders.length, 1);
    let s = only(h.manager.status());
    assert.equal(s.state, 'failed');
    assert.equal(s.failures, 1);
    assert.equal(s.nextReason, 'retry-after');
    assert.ok(s.lastAttemptAt !== null && s.nextAttemptAt !== null);
    assert.ok(Date.parse(s.nextAttemptAt) >= Date.parse(s.lastAttemptAt) + retryAfterMs);
    assert.equal(s.lastError?.code, AcmeErrorCodes.RATE_LIMITED);
    assert.deepEqual(h.published, ['acme order failed']);

    const source: Source = { provider: 'file', origin: '/etc/berth/dynamic.yml', line: 3 };
    const errors = h.manager.errors(new Map([['http.routers.app', source]]));
    assert.deepEqual(
      errors.map((e) => [e.code, e.path, e.severity, e.source]),
      [
        [AcmeErrorCodes.RATE_LIMITED, 'http.routers.app.tls.certResolver', 'warning', source],
        [AcmeErrorCodes.RATE_LIMITED, 'http.routers.www.tls.certResolver', 'warning', undefined],
      ],
    );
    assert.match(
      errors[0]?.message ?? '',
      /^router "http\.routers\.app": .*too many orders.*serves the default/,
    );

    await h.advance(retryAfterMs - SECOND);
    assert.equal(h.orders.length, 1, 'not before Retry-After');
    await h.advance(SECOND);
    assert.equal(h.orders.length, 2);
    s = only(h.manager.status());
    assert.equal(s.state, 'valid');
    assert.equal(s.failures, 0);
    assert.equal(s.lastError, null);
    assert.deepEqual(h.manager.errors(new Map()), []);
  });

  it('says a router serves the default certificate once the one it had expired while renewals failed', async (t) => {
    const h = harness(t, {
      stored: certificate(T0 - 89 * DAY),
      obtain: async () => {
        throw new Error('down');
      },
    });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(h.orders.length, 1);
    const [inService] = h.manager.errors(new Map());
    assert.doesNotMatch(inService?.message ?? '', /serves the default/);
    h.clock.now += 2 * DAY; // expired; the certificate is no longer served
    assert.deepEqual(h.manager.certificates(), []);
    const [expired] = h.manager.errors(new Map());
    assert.match(
      expired?.message ?? '',
      /serves the default or a matching configured certificate meanwhile$/,
    );
  });

  it('warns about a certificate within 7 days of expiry that has not been renewed yet', async (t) => {
    const h = harness(t, { stored: certificate(T0 - 85 * DAY), nodes: 0 });
    await h.manager.sync([request]);
    await h.settle();
    const errors = h.manager.errors(new Map());
    assert.deepEqual(
      errors.map((e) => [e.code, e.path, e.severity]),
      [
        [AcmeErrorCodes.CERTIFICATE_EXPIRING, 'http.routers.app.tls.certResolver', 'warning'],
        [AcmeErrorCodes.CERTIFICATE_EXPIRING, 'http.routers.www.tls.certResolver', 'warning'],
      ],
    );
    assert.equal(only(h.manager.status()).expiringSoon, true);
  });

  it('backs off after repeated failures, doubling from minRetryMs: never a tight loop', async (t) => {
    const h = harness(t, {
      obtain: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(h.orders.length, 1);
    const s = only(h.manager.status());
    assert.equal(s.lastError?.code, AcmeErrorCodes.ORDER_FAILED, 'anything else is ORDER_FAILED');
    assert.equal(s.nextReason, 'backoff');
    await h.advance(10 * SECOND);
    // 0, +1 s, +2 s, +4 s: at T0, T0+1 s, T0+3 s, T0+7 s; the next one at T0+15 s.
    assert.deepEqual(
      h.orders.map((o) => o.at - T0),
      [0, SECOND, 3 * SECOND, 7 * SECOND],
    );
    const gaps = h.orders.slice(1).map((o, i) => o.at - (h.orders[i]?.at ?? 0));
    assert.ok(gaps[0]! >= SECOND && gaps[1]! >= 2 * SECOND, `gaps ${gaps}`);
    const last = only(h.manager.status());
    assert.equal(last.failures, 4);
    assert.equal(last.nextAttemptAt, new Date(T0 + 15 * SECOND).toISOString());
  });

  it('keeps the jittered backoff at least minRetryMs and at most 25% short of the doubling', async (t) => {
    const h = harness(t, {
      obtain: async () => {
        throw new Error('down');
      },
    });
    t.mock.method(Math, 'random', () => 0.999999);
    await h.manager.sync([request]);
    await h.advance(4 * SECOND);
    assert.ok(h.orders.length >= 2 && h.orders.length <= 3, `${h.orders.length} orders`);
    const [a, b, c] = h.orders.map((o) => o.at);
    assert.ok(b! - a! >= SECOND);
    if (c !== undefined) assert.ok(c - b! >= 1.5 * SECOND && c - a! >= 2 * SECOND);
  });

  it('stops scheduling a certificate no router asks for any more', async (t) => {
    const h = harness(t, {
      obtain: async () => {
        throw new Error('down');
      },
    });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(h.orders.length, 1);
    await h.manager.sync([]);
    assert.deepEqual(h.manager.status(), []);
    assert.deepEqual(h.manager.errors(new Map()), []);
    await h.advance(10 * SECOND);
    assert.equal(h.orders.length, 1);
  });

  it('runs one order per certificate at a time, and drops the result of one no router wants any more', async (t) => {
    let finish: (c: StoredCertificate) => void = () => {};
    const h = harness(t, { obtain: () => new Promise((resolve) => (finish = resolve)) });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(h.orders.length, 1);
    assert.equal(h.manager.renewNow('le', request.domains), true);
    await h.advance(SECOND);
    assert.equal(h.orders.length, 1, 'renewNow while an order runs adds none');
    await h.manager.sync([]);
    finish(certificate(h.clock.now));
    await h.settle();
    assert.deepEqual(h.published, [], 'nothing to publish for a removed certificate');
    assert.deepEqual(h.manager.certificates(), []);
    await h.advance(20 * SECOND);
    assert.equal(h.orders.length, 1);
  });

  it('does not renew a freshly issued certificate before minRenewalGapMs, even when renewBefore is all of its lifetime', async (t) => {
    const h = harness(t, { settings: { renewBefore: { fraction: 1 } } });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(h.orders.length, 1);
    const s = only(h.manager.status());
    assert.equal(s.nextReason, 'window');
    assert.equal(s.nextAttemptAt, new Date(T0 + 10 * SECOND).toISOString());
    await h.advance(10 * SECOND - 100);
    assert.equal(h.orders.length, 1);
    await h.advance(100);
    assert.equal(h.orders.length, 2);
  });

  it('renews now on request, and not for a certificate it does not manage', async (t) => {
    const h = harness(t, { stored: certificate(T0 - DAY) });
    await h.manager.sync([request]);
    assert.equal(h.manager.renewNow('le', ['nothing.example.test']), false);
    assert.equal(h.manager.renewNow('le', ['www.example.test', 'APP.example.test']), true);
    await h.settle();
    assert.equal(h.orders.length, 1);
    assert.equal(only(h.manager.status()).orders, 1);
  });

  it('records a storage that cannot be read as a failure, with a backoff, not a throw', async (t) => {
    const h = harness(t, { storedError: new Error('acme.json is not JSON') });
    await h.manager.sync([request]);
    const s = only(h.manager.status());
    assert.equal(s.state, 'failed');
    assert.equal(s.failures, 1);
    assert.match(s.lastError?.message ?? '', /acme\.json is not JSON/);
    assert.equal(s.nextAttemptAt, new Date(T0 + SECOND).toISOString());
  });

  it('does not count a failed publish after a successful order as a failed order, nor crash on one', async (t) => {
    let publishes = 0;
    const h = harness(t, {
      publish: async () => {
        publishes++;
        throw new Error('cannot persist the snapshot');
      },
    });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(h.orders.length, 1);
    assert.equal(publishes, 1);
    const s = only(h.manager.status());
    assert.equal(s.state, 'valid');
    assert.equal(s.failures, 0);
    assert.equal(s.lastError, null);
    await h.advance(5 * SECOND);
    assert.equal(h.orders.length, 1);
  });

  it('survives a failing publish after a failed order (no unhandled rejection)', async (t) => {
    const h = harness(t, {
      obtain: async () => {
        throw new Error('down');
      },
      publish: async () => {
        throw new Error('cannot persist the snapshot');
      },
    });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(only(h.manager.status()).failures, 1);
  });

  it('stops everything on close: no more orders, resolvers closed, node listener removed', async (t) => {
    const h = harness(t, {
      obtain: async () => {
        throw new Error('down');
      },
    });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(h.listeners(), 1);
    h.manager.close();
    assert.equal(h.closed(), 1);
    assert.equal(h.listeners(), 0);
    await h.advance(10 * SECOND);
    assert.equal(h.orders.length, 1);
  });

  describe('the challenge board', () => {
    const http01 = {
      type: 'http-01' as const,
      resolver: 'le',
      domain: 'app.example.test',
      token: 'tok-1',
      keyAuthorization: 'tok-1.thumb',
    };

    it('publishes an HTTP-01 answer on the entry point and waits until the nodes applied that version', async (t) => {
      const h = harness(t, { settings: { challenge: { type: 'http-01', entryPoint: 'web80' } } });
      const board = h.board();
      assert.equal(h.manager.challenges(), undefined);
      const signal = new AbortController().signal;
      await board.present(http01, signal);
      assert.deepEqual(h.manager.challenges(), {
        http01: [{ entryPoint: 'web80', token: 'tok-1', keyAuthorization: 'tok-1.thumb' }],
      });
      assert.deepEqual(h.published, ['acme http-01 challenge for app.example.test']);
      assert.deepEqual(h.applied, [{ epoch: 'epoch-1', version: 1, signal }]);

      await board.cleanup(http01);
      assert.equal(h.manager.challenges(), undefined);
      assert.deepEqual(h.published.slice(1), ['acme http-01 challenge for app.example.test withdrawn']);
      // Withdrawing it twice publishes nothing more.
      await board.cleanup(http01);
      assert.equal(h.published.length, 2);
    });

    it('rejects when the published snapshot does not carry the answer, without waiting for nodes', async (t) => {
      let answer: PublishedVersion | null = null;
      const h = harness(t, { publish: async () => answer });
      const board = h.board();
      await assert.rejects(board.present(http01, new AbortController().signal), /could not be published/);
      answer = { epoch: 'e', version: 3, acme: { http01: [] } };
      await assert.rejects(board.present(http01, new AbortController().signal), /could not be published/);
      assert.deepEqual(h.applied, []);
    });

    it('passes a rejection of whenApplied on to the order', async (t) => {
      const h = harness(t, {
        whenApplied: async () => {
          throw new Error('node n1 rejected version 1');
        },
      });
      await assert.rejects(h.board().present(http01, new AbortController().signal), /node n1 rejected/);
    });

    it('puts TLS-ALPN-01 answers in tlsAlpn01', async (t) => {
      const h = harness(t, { settings: { challenge: { type: 'tls-alpn-01' } } });
      const material = {
        type: 'tls-alpn-01' as const,
        resolver: 'le',
        domain: 'app.example.test',
        certPem: 'ALPN CERT',
        keyPem: 'ALPN KEY',
      };
      await h.board().present(material, new AbortController().signal);
      assert.deepEqual(h.manager.challenges(), {
        tlsAlpn01: [{ domain: 'app.example.test', certPem: 'ALPN CERT', keyPem: 'ALPN KEY' }],
      });
      assert.equal(h.applied.length, 1);
      await h.board().cleanup(material);
      assert.equal(h.manager.challenges(), undefined);
    });
  });
});

describe('AcmeManager: ACME Renewal Information (RFC 9773)', () => {
  it("renews inside the CA's suggested window, even long before the usual one", async (t) => {
    const stored = certificate(T0 - 10 * DAY);
    const asked: StoredCertificate[] = [];
    // An incident: the CA wants the certificate replaced within the next minute.
    const h = harness(t, {
      stored,
      renewalInfo: async (c) => {
        asked.push(c);
        // The new certificate gets the usual window from the CA.
        if (c !== stored)
          return {
            suggestedWindow: { start: c.notBefore + 60 * DAY, end: c.notBefore + 62 * DAY },
            explanationUrl: null,
            pollAfterMs: 6 * 3600 * SECOND,
          };
        return {
          suggestedWindow: { start: T0 + 10 * SECOND, end: T0 + 20 * SECOND },
          explanationUrl: 'https://ca.test/incident',
          pollAfterMs: 6 * 3600 * SECOND,
        };
      },
    });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(asked.length, 1, 'asked once for the stored certificate');
    assert.equal(only(h.manager.status()).nextReason, 'suggested-window');
    await h.advance(10 * SECOND, 1000);
    assert.equal(h.orders.length, 1);
    assert.ok((h.orders[0]?.at ?? 0) >= T0 + 10 * SECOND);
    // The new certificate is asked about, and its window is the CA's new one.
    assert.equal(asked.length, 2);
    const after = only(h.manager.status());
    assert.equal(after.nextReason, 'suggested-window');
    assert.ok(Date.parse(after.nextAttemptAt ?? '') >= (h.orders[0]?.at ?? 0) + 60 * DAY);
  });

  it('keeps its own window when the CA offers no ARI or cannot answer', async (t) => {
    const h = harness(t, {
      stored: certificate(T0 - 10 * DAY),
      renewalInfo: async () => {
        throw new Error('renewalInfo: HTTP 500');
      },
    });
    await h.manager.sync([request]);
    await h.settle();
    assert.equal(only(h.manager.status()).nextReason, 'window');
    assert.equal(h.orders.length, 0);
  });
});
