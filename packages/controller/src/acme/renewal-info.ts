// ACME Renewal Information (RFC 9773): a certificate's ARI identifier, the CA's suggested renewal
// window from the directory's `renewalInfo` resource, and how long to wait before asking again.
import { X509Certificate } from 'node:crypto';
import type { Agent } from 'node:https';
import { request as httpsRequest } from 'node:https';
import { parseRetryAfter } from './acme-http.js';
import type { SuggestedWindow } from './renewal-plan.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** When to ask again without a Retry-After, and the bounds put on one (RFC 9773 §4.3's examples). */
export const DEFAULT_RENEWAL_INFO_POLL_MS = 6 * HOUR;
const MIN_POLL_MS = MINUTE;
const MAX_POLL_MS = 24 * HOUR;

export interface RenewalInfo {
  suggestedWindow: SuggestedWindow;
  /** Why the CA suggests this window (an incident page), when it says. */
  explanationUrl: string | null;
  /** When to ask again: the CA's Retry-After, bounded to [1 min, 1 day]; 6 h without one. */
  pollAfterMs: number;
}

/**
 * `base64url(keyIdentifier of the AuthorityKeyIdentifier) "." base64url(serial's DER value bytes)`
 * (RFC 9773 §4.1). The serial's content octets are taken as encoded, so a serial with its high
 * bit set keeps its leading zero byte, as the RFC requires. Throws without an AKI keyIdentifier.
 */
export function ariCertId(certificate: string | X509Certificate): string {
  const cert = typeof certificate === 'string' ? new X509Certificate(certificate) : certificate;
  const der = cert.raw;
  const outer = tlv(der, 0, 0x30);
  const tbs = tlv(der, outer.start, 0x30);
  let at = tbs.start;
  let field = tlv(der, at);
  if (field.tag === 0xa0) {
    at = field.end;
    field = tlv(der, at);
  }
  if (field.tag !== 0x02) throw new Error('certificate: no serial number');
  const serial = der.subarray(field.start, field.end);
  let keyId: Buffer | null = null;
  for (at = field.end; at < tbs.end; ) {
    const element = tlv(der, at);
    at = element.end;
    if (element.tag !== 0xa3) continue;
    const extensions = tlv(der, element.start, 0x30);
    for (let e = extensions.start; e < extensions.end; ) {
      const extension = tlv(der, e, 0x30);
      e = extension.end;
      const oid = tlv(der, extension.start, 0x06);
      // 2.5.29.35: authorityKeyIdentifier.
      if (!der.subarray(oid.start, oid.end).equals(Buffer.from([0x55, 0x1d, 0x23]))) continue;
      let value = tlv(der, oid.end);
      if (value.tag === 0x01) value = tlv(der, value.end);
      const aki = tlv(der, value.start, 0x30);
      for (let k = aki.start; k < aki.end; ) {
        const part = tlv(der, k);
        k = part.end;
        // [0] IMPLICIT KeyIdentifier.
        if (part.tag === 0x80) keyId = der.subarray(part.start, part.end);
      }
    }
  }
  if (keyId === null) throw new Error('certificate: no authority key identifier, so no ARI certID');
  return `${keyId.toString('base64url')}.${serial.toString('base64url')}`;
}

/** One DER element at `offset`: tag, content range; throws on truncation or an unexpected tag. */
function tlv(der: Buffer, offset: number, expect?: number): { tag: number; start: number; end: number } {
  const tag = der[offset];
  let length = der[offset + 1];
  if (tag === undefined || length === undefined) throw new Error('certificate: truncated DER');
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4) throw new Error('certificate: unsupported DER length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + (der[start + i] ?? 0);
    start += bytes;
  }
  const end = start + length;
  if (end > der.length) throw new Error('certificate: truncated DER');
  if (expect !== undefined && tag !== expect)
    throw new Error(`certificate: expected DER tag 0x${expect.toString(16)}, found 0x${tag.toString(16)}`);
  return { tag, start, end };
}

/** The body of a renewalInfo answer; null when it is not a usable window (end before start). */
export function parseRenewalInfo(
  body: unknown,
): { suggestedWindow: SuggestedWindow; explanationUrl: string | null } | null {
  if (typeof body !== 'object' || body === null) return null;
  const { suggestedWindow, explanationURL } = body as { suggestedWindow?: unknown; explanationURL?: unknown };
  if (typeof suggestedWindow !== 'object' || suggestedWindow === null) return null;
  const { start, end } = suggestedWindow as { start?: unknown; end?: unknown };
  const s = typeof start === 'string' ? Date.parse(start) : Number.NaN;
  const e = typeof end === 'string' ? Date.parse(end) : Number.NaN;
  if (Number.isNaN(s) || Number.isNaN(e) || e <= s) return null;
  return {
    suggestedWindow: { start: s, end: e },
    explanationUrl: typeof explanationURL === 'string' ? explanationURL : null,
  };
}

/** The CA's Retry-After bounded to [1 min, 1 day]; 6 h when it sent none. */
export function renewalInfoPollDelay(retryAfterMs: number | null): number {
  if (retryAfterMs === null) return DEFAULT_RENEWAL_INFO_POLL_MS;
  return Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, retryAfterMs));
}

/** Where the CA serves renewal information, or null when its directory offers none. */
export async function renewalInfoUrl(
  directoryUrl: string,
  agent: Agent | undefined,
  timeoutMs: number,
): Promise<string | null> {
  const answer = await getJson(directoryUrl, agent, timeoutMs);
  if (answer.status !== 200) throw new Error(`directory ${directoryUrl}: HTTP ${answer.status}`);
  const url = (answer.body as { renewalInfo?: unknown } | null)?.renewalInfo;
  return typeof url === 'string' && url !== '' ? url : null;
}

/** GET `renewalInfo/certID` (unauthenticated, RFC 9773 §4.2); throws on anything but a usable answer. */
export async function fetchRenewalInfo(
  baseUrl: string,
  certId: string,
  agent: Agent | undefined,
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<RenewalInfo> {
  const url = `${baseUrl.replace(/\/+$/, '')}/${certId}`;
  const answer = await getJson(url, agent, timeoutMs);
  if (answer.status !== 200) throw new Error(`renewalInfo ${url}: HTTP ${answer.status}`);
  const info = parseRenewalInfo(answer.body);
  if (info === null) throw new Error(`renewalInfo ${url}: no valid suggestedWindow in the answer`);
  return { ...info, pollAfterMs: renewalInfoPollDelay(parseRetryAfter(answer.retryAfter, now())) };
}

function getJson(
  url: string,
  agent: Agent | undefined,
  timeoutMs: number,
): Promise<{ status: number; body: unknown; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: 'GET',
        timeout: timeoutMs,
        headers: { accept: 'application/json' },
        ...(agent ? { agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: unknown = null;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            // Not JSON: the status says what went wrong.
          }
          const retryAfter = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            body,
            retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
