// What the API shows of a snapshot: the body nodes get, with every private key and ticket key replaced by a marker.
import type { Snapshot } from '@berth/protocol';

export const REDACTED = '[redacted]';

const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * Private keys may sit in certificates, the default certificate, HTTP and TCP transport client
 * certificates (as inline `keyFile`), and anywhere a future field puts PEM: any string holding a
 * PEM private key is redacted wherever it is, and the ticket keys by name.
 */
export function redactSnapshot(snapshot: Snapshot): Snapshot {
  return { ...snapshot, body: redact(snapshot.body, '') as Snapshot['body'] };
}

function redact(value: unknown, key: string): unknown {
  if (typeof value === 'string') return PRIVATE_KEY.test(value) ? REDACTED : value;
  if (Array.isArray(value)) {
    if (key === 'sessionTicketKeys') return value.map(() => REDACTED);
    return value.map((v) => redact(v, ''));
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redact(v, k);
    return out;
  }
  return value;
}
