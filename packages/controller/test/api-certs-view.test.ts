// `/api/v1/certs` and the ACME metrics: compiled certificates matched with the ACME schedule, pending ones added, Prometheus text read back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AcmeErrorCodes } from '../src/acme/acme-errors.js';
import type { AcmeCertificateStatus } from '../src/acme/acme-manager.js';
import { acmeMetrics, certificatesView } from '../src/api/certs-view.js';
import type { CertificateStatus } from '../src/compiler/compile-result.js';

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();

function acmeStatus(extra: Partial<AcmeCertificateStatus> = {}): AcmeCertificateStatus {
  return {
    resolver: 'le',
    domains: ['app.example.test', 'www.example.test'],
    routers: ['http.routers.app@file'],
    challenge: 'http-01',
    state: 'valid',
    notBefore: iso(T0),
    notAfter: iso(T0 + 90 * 86_400_000),
    issuedAt: iso(T0),
    expiringSoon: false,
    lastAttemptAt: iso(T0),
    lastSuccessAt: iso(T0),
    nextAttemptAt: iso(T0 + 60 * 86_400_000),
    nextReason: 'window',
    failures: 0,
    lastError: null,
    orders: 1,
    ...extra,
  };
}

function compiledStatus(extra: Partial<CertificateStatus> = {}): CertificateStatus {
  return {
    names: ['www.example.test', 'app.example.test'],
    notAfter: iso(T0 + 90 * 86_400_000),
    fingerprint: 'ab'.repeat(32),
    origin: 'acme',
    stores: ['default'],
    isDefault: false,
    status: 'enabled',
    errors: [],
    source: { provider: 'acme', origin: 'certificatesResolvers.le' },
    ...extra,
  };
}

describe('certificatesView', () => {
  const file = compiledStatus({ origin: 'file', source: { provider: 'file', origin: '/etc/berth/tls.yml' } });

  it('is the compiled list when no ACME resolver is configured', () => {
    const list = [file];
    assert.deepEqual(certificatesView(list, undefined), list);
    assert.deepEqual(certificatesView(list, []), list);
  });

  it('gives each compiled ACME certificate its schedule, matched by resolver and names in any order', () => {
    const served = compiledStatus();
    const other = compiledStatus({
      names: ['app.example.test', 'www.example.test'],
      source: { provider: 'acme', origin: 'certificatesResolvers.staging' },
    });
    const schedule = acmeStatus();
    const view = certificatesView([file, served, other], [schedule]);
    assert.equal(view.length, 3, 'nothing pending: every schedule found its certificate');
    assert.equal(view[0], file, 'a file certificate with the same names is not ACME');
    assert.deepEqual(view[1], { ...served, acme: schedule });
    assert.equal(view[2]?.acme, undefined, 'another resolver');
  });

  it('keeps a disabled ACME certificate disabled, with its schedule', () => {
    const disabled = compiledStatus({ status: 'disabled', fingerprint: '', notAfter: '' });
    const view = certificatesView([disabled], [acmeStatus()]);
    assert.equal(view.length, 1);
    assert.equal(view[0]?.status, 'disabled');
    assert.equal(view[0]?.acme?.resolver, 'le');
  });

  it('lists a certificate not obtained yet as pending, with its last error', () => {
    const failing = acmeStatus({
      domains: ['new.example.test'],
      state: 'failed',
      notBefore: null,
      notAfter: null,
      issuedAt: null,
      failures: 2,
      lastError: { code: AcmeErrorCodes.CA_UNREACHABLE, message: 'CA unreachable', at: iso(T0) },
      nextReason: 'backoff',
    });
    const waiting = acmeStatus({ domains: ['wait.example.test'], state: 'waiting-for-node', notAfter: null });
    const view = certificatesView([file], [failing, waiting]);
    assert.equal(view.length, 3);
    assert.deepEqual(view[1], {
      names: ['new.example.test'],
      notAfter: '',
      fingerprint: '',
      origin: 'acme',
      stores: ['default'],
      isDefault: false,
      status: 'pending',
      errors: [
        { code: AcmeErrorCodes.CA_UNREACHABLE, path: 'certificatesResolvers.le', message: 'CA unreachable' },
      ],
      source: { provider: 'acme', origin: 'certificatesResolvers.le' },
      acme: failing,
    });
    assert.equal(view[2]?.status, 'pending');
    assert.deepEqual(view[2]?.errors, []);
  });
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads Prometheus text exposition back: families with HELP and TYPE, samples with unescaped labels. */
function parseMetrics(text: string): {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
} {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      const into = kind === 'HELP' ? help : types;
      assert.equal(into.has(name), false, `one ${kind} for ${name}`);
      into.set(name, rest);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    const [, name, rawLabels, value] = m as unknown as [string, string, string, string];
    assert.ok(types.has(name), `${name} is declared before its samples`);
    const labels: Record<string, string> = {};
    const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
    let at = 0;
    while (at < rawLabels.length) {
      label.lastIndex = at;
      const l = label.exec(rawLabels);
      assert.ok(l, `labels: ${rawLabels}`);
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      at = label.lastIndex;
    }
    samples.push({ name, labels, value: Number(value) });
  }
  return { types, help, samples };
}

describe('acmeMetrics', () => {
  it('exposes expiry, next attempt, last success, failures, expiring soon and orders per certificate', () => {
    const good = acmeStatus();
    const pending = acmeStatus({
      domains: ['new.example.test'],
      notBefore: null,
      notAfter: null,
      lastSuccessAt: null,
      nextAttemptAt: iso(T0 + 60_000),
      failures: 3,
      orders: 3,
    });
    const { types, help, samples } = parseMetrics(acmeMetrics([good, pending]));
    assert.deepEqual(Object.fromEntries(types), {
      berth_acme_certificate_not_after_seconds: 'gauge',
      berth_acme_certificate_next_attempt_seconds: 'gauge',
      berth_acme_certificate_last_success_seconds: 'gauge',
      berth_acme_certificate_failures: 'gauge',
      berth_acme_certificate_expiring_soon: 'gauge',
      berth_acme_orders_total: 'counter',
    });
    assert.deepEqual([...help.keys()], [...types.keys()]);
    const value = (name: string, domains: string) =>
      samples.find((s) => s.name === name && s.labels['domains'] === domains)?.value;
    const goodDomains = 'app.example.test,www.example.test';
    assert.equal(
      value('berth_acme_certificate_not_after_seconds', goodDomains),
      (T0 + 90 * 86_400_000) / 1000,
    );
    assert.equal(
      value('berth_acme_certificate_next_attempt_seconds', goodDomains),
      (T0 + 60 * 86_400_000) / 1000,
    );
    assert.equal(value('berth_acme_certificate_last_success_seconds', goodDomains), T0 / 1000);
    assert.equal(value('berth_acme_certificate_failures', goodDomains), 0);
    assert.equal(value('berth_acme_certificate_expiring_soon', goodDomains), 0);
    assert.equal(value('berth_acme_orders_total', goodDomains), 1);
    // No certificate in service: no expiry sample, and "expiring soon" so an alert fires.
    assert.equal(value('berth_acme_certificate_not_after_seconds', 'new.example.test'), undefined);
    assert.equal(value('berth_acme_certificate_last_success_seconds', 'new.example.test'), undefined);
    assert.equal(
      value('berth_acme_certificate_next_attempt_seconds', 'new.example.test'),
      (T0 + 60_000) / 1000,
    );
    assert.equal(value('berth_acme_certificate_failures', 'new.example.test'), 3);
    assert.equal(value('berth_acme_certificate_expiring_soon', 'new.example.test'), 1);
    assert.equal(value('berth_acme_orders_total', 'new.example.test'), 3);
    for (const s of samples) assert.deepEqual(Object.keys(s.labels), ['resolver', 'domains']);
    assert.ok(samples.every((s) => s.labels['resolver'] === 'le'));
  });

  it('escapes backslashes, quotes and line feeds in label values', () => {
    const odd = 'le"\\\nx';
    const { samples } = parseMetrics(acmeMetrics([acmeStatus({ resolver: odd, expiringSoon: true })]));
    assert.ok(samples.length > 0);
    for (const s of samples) assert.equal(s.labels['resolver'], odd);
    assert.equal(samples.find((s) => s.name === 'berth_acme_certificate_expiring_soon')?.value, 1);
  });

  it('declares every family even with no certificate', () => {
    const { types, samples } = parseMetrics(acmeMetrics([]));
    assert.equal(types.size, 6);
    assert.deepEqual(samples, []);
  });
});
