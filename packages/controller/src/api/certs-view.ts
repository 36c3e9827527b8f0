// `/api/v1/certs`: the compiled certificates, each ACME one with its resolver's schedule (last and
// next attempt, failures, last error), plus the ACME certificates not obtained yet (`pending`).
import type { ConfigError } from '@berth/config';
import type { AcmeCertificateStatus } from '../acme/acme-manager.js';
import { sameNames } from '../acme/certificate-requests.js';
import type { CertificateStatus } from '../compiler/compile-result.js';

export interface CertificateView extends Omit<CertificateStatus, 'status'> {
  /** `pending`: an ACME certificate not obtained yet (its routers serve the default one meanwhile). */
  status: CertificateStatus['status'] | 'pending';
  acme?: AcmeCertificateStatus;
}

export function certificatesView(
  certificates: readonly CertificateStatus[],
  acme: readonly AcmeCertificateStatus[] | undefined,
): CertificateView[] {
  if (acme === undefined || acme.length === 0) return [...certificates];
  const matched = new Set<AcmeCertificateStatus>();
  const out: CertificateView[] = certificates.map((c) => {
    if (c.origin !== 'acme') return c;
    const state = acme.find(
      (a) => c.source?.origin === `certificatesResolvers.${a.resolver}` && sameNames(a.domains, c.names),
    );
    if (state === undefined) return c;
    matched.add(state);
    return { ...c, acme: state };
  });
  for (const a of acme) {
    if (matched.has(a)) continue;
    const errors: ConfigError[] =
      a.lastError === null
        ? []
        : [
            {
              code: a.lastError.code,
              path: `certificatesResolvers.${a.resolver}`,
              message: a.lastError.message,
            },
          ];
    out.push({
      names: a.domains,
      notAfter: a.notAfter ?? '',
      fingerprint: '',
      origin: 'acme',
      stores: ['default'],
      isDefault: false,
      status: 'pending',
      errors,
      source: { provider: 'acme', origin: `certificatesResolvers.${a.resolver}` },
      acme: a,
    });
  }
  return out;
}

/** Prometheus text for the ACME schedule: what an alert on expiry or failing renewals needs. */
export function acmeMetrics(acme: readonly AcmeCertificateStatus[]): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const labels = (a: AcmeCertificateStatus) =>
    `resolver="${esc(a.resolver)}",domains="${esc(a.domains.join(','))}"`;
  const seconds = (iso: string | null) => (iso === null ? null : Date.parse(iso) / 1000);
  const lines: string[] = [];
  const gauge = (name: string, help: string, value: (a: AcmeCertificateStatus) => number | null) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const a of acme) {
      const v = value(a);
      if (v !== null) lines.push(`${name}{${labels(a)}} ${v}`);
    }
  };
  gauge(
    'berth_acme_certificate_not_after_seconds',
    'Expiry of the ACME certificate in service (Unix time).',
    (a) => seconds(a.notAfter),
  );
  gauge('berth_acme_certificate_next_attempt_seconds', 'When the next order is scheduled (Unix time).', (a) =>
    seconds(a.nextAttemptAt),
  );
  gauge('berth_acme_certificate_last_success_seconds', 'When an order last succeeded (Unix time).', (a) =>
    seconds(a.lastSuccessAt),
  );
  gauge(
    'berth_acme_certificate_failures',
    'Consecutive failed orders since the last success.',
    (a) => a.failures,
  );
  gauge(
    'berth_acme_certificate_expiring_soon',
    '1 when within 7 days of expiry (or none in service).',
    (a) => (a.expiringSoon || a.notAfter === null ? 1 : 0),
  );
  lines.push(
    '# HELP berth_acme_orders_total Orders placed since the controller started.',
    '# TYPE berth_acme_orders_total counter',
  );
  for (const a of acme) lines.push(`berth_acme_orders_total{${labels(a)}} ${a.orders}`);
  return `${lines.join('\n')}\n`;
}
