// `berth certs`: every certificate the controller serves or refused, with its names, expiry, origin and OCSP state.
import type { CertificateView } from '@berth/controller';
import { apiGet } from '../api-client.js';
import { table } from '../output.js';
import { apiOptions, targetFrom } from './api-options.js';
import { bool, type Command } from './command.js';

/** Table rows, one per certificate; pure so it is tested without a controller. */
export function certRows(certs: readonly CertificateView[]): string[][] {
  return certs.map((c) => [
    c.names.join(',') || '-',
    c.status,
    c.notAfter === '' ? '-' : `${c.notAfter.slice(0, 10)}${c.acme?.expiringSoon ? ' (soon!)' : ''}`,
    c.isDefault ? `${c.origin} (default)` : c.acme ? `acme (${c.acme.resolver})` : c.origin,
    renewal(c),
    c.stores.join(','),
    c.ocsp === undefined ? '-' : c.ocsp.status,
    c.source === undefined
      ? '-'
      : `${c.source.origin}${c.source.line === undefined ? '' : `:${c.source.line}`}`,
    [
      ...new Set([...c.errors.map((e) => e.code), ...(c.acme?.lastError ? [c.acme.lastError.code] : [])]),
    ].join(',') || '-',
  ]);
}

/** An ACME certificate's schedule in a few words: what happens next, and when (UTC). */
function renewal(c: CertificateView): string {
  const a = c.acme;
  if (a === undefined) return '-';
  const at = (iso: string | null) => (iso === null ? '?' : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`);
  switch (a.state) {
    case 'valid':
      return `renews ${at(a.nextAttemptAt)}`;
    case 'failed':
      return `failed ×${a.failures}, retry ${at(a.nextAttemptAt)}`;
    case 'waiting-for-node':
      return 'waits for a node';
    default:
      return a.state;
  }
}

export const CERT_HEADERS = [
  'NAMES',
  'STATUS',
  'NOT AFTER',
  'ORIGIN',
  'RENEWAL',
  'STORES',
  'OCSP',
  'SOURCE',
  'ERRORS',
];

export const certsCommand: Command = {
  name: 'certs',
  summary: 'list TLS certificates: names, expiry, origin, ACME renewal, OCSP status and errors',
  options: apiOptions,
  async run(v) {
    const target = targetFrom(v, 'certs');
    const certs = await apiGet<CertificateView[]>(target, '/api/v1/certs');
    if (bool(v, 'json')) {
      process.stdout.write(`${JSON.stringify(certs, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`${table(CERT_HEADERS, certRows(certs))}\n`);
    return 0;
  },
};
