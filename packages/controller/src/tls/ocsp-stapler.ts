// Keeps an OCSP response for every certificate whose leaf names a responder: fetched at once, refreshed before it goes stale.
import { createHash, X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { OcspState } from '../compiler/compile-result.js';
import { ErrorCodes } from '../compiler/error-codes.js';
import { ocspResponderOf, splitPemChain } from './certificate-check.js';
import { buildOcspRequest, readOcspResponse } from './ocsp.js';

/** POSTs a DER request, resolves the DER response body. */
export type OcspFetch = (url: string, request: Buffer) => Promise<Buffer>;

const HOUR = 3600_000;
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface OcspStaplerOptions {
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Called when a certificate's stapled response changed; the controller recompiles and publishes. */
  onUpdate: () => void;
  fetch?: OcspFetch;
  /** Longest time between two fetches for one certificate (default 1h). */
  refreshMs?: number;
  /** Wait after a failed fetch (default 5 min). */
  retryMs?: number;
}

interface Entry {
  leafPem: string;
  issuerPem: string;
  url: string;
  names: string;
  response?: Buffer;
  state?: OcspState;
  timer: NodeJS.Timeout | null;
  closed: boolean;
}

export const httpOcspFetch: OcspFetch = async (url, request) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
    body: new Uint8Array(request),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} from ${url}`);
  }
  // Read at most 64 KiB: a responder cannot make the controller buffer an endless body.
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.length;
    // Throwing out of the loop cancels the stream.
    if (size > MAX_RESPONSE_BYTES) throw new Error(`response from ${url} is larger than 64 KiB`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
};

export class OcspStapler {
  private readonly entries = new Map<string, Entry>();
  private readonly fetchResponse: OcspFetch;
  private readonly refreshMs: number;
  private readonly retryMs: number;

  constructor(private readonly opts: OcspStaplerOptions) {
    this.fetchResponse = opts.fetch ?? httpOcspFetch;
    this.refreshMs = opts.refreshMs ?? HOUR;
    this.retryMs = opts.retryMs ?? 5 * 60_000;
  }

  /** The response to staple (base64) and what the API shows, by leaf fingerprint. */
  get(fingerprint: string): { response?: string; state: OcspState } | undefined {
    const entry = this.entries.get(fingerprint);
    if (entry?.state === undefined) return undefined;
    const next = entry.state.nextUpdate;
    // A response past its nextUpdate would be refused by clients: stop stapling it.
    const fresh = entry.response !== undefined && (next === undefined || Date.parse(next) > Date.now());
    return fresh
      ? { response: entry.response!.toString('base64'), state: entry.state }
      : { state: entry.state };
  }

  /** Follows the certificates of the latest compilation: new ones are fetched, gone ones forgotten. */
  track(certificates: readonly { certPem: string; names: string[] }[]): void {
    const wanted = new Set<string>();
    for (const cert of certificates) {
      const chain = splitPemChain(cert.certPem);
      const leafPem = chain[0];
      if (leafPem === undefined) continue;
      let leaf: X509Certificate;
      try {
        leaf = new X509Certificate(leafPem);
      } catch {
        continue;
      }
      const url = ocspResponderOf(leaf);
      if (url === undefined) continue;
      const fingerprint = createHash('sha256').update(leaf.raw).digest('hex');
      wanted.add(fingerprint);
      if (this.entries.has(fingerprint)) continue;
      const names = cert.names.join(', ');
      const issuerPem = chain.slice(1).find((pem) => leaf.checkIssued(new X509Certificate(pem)));
      if (issuerPem === undefined) {
        this.opts.logger.warn(
          { code: ErrorCodes.TLS_OCSP_FETCH, names },
          'cannot staple OCSP: the certificate file does not include its issuer',
        );
        this.entries.set(fingerprint, {
          leafPem,
          issuerPem: '',
          url,
          names,
          state: { status: 'error' },
          timer: null,
          closed: true,
        });
        continue;
      }
      const entry: Entry = { leafPem, issuerPem, url, names, timer: null, closed: false };
      this.entries.set(fingerprint, entry);
      void this.refresh(entry);
    }
    for (const [fingerprint, entry] of this.entries) {
      if (wanted.has(fingerprint)) continue;
      this.stop(entry);
      this.entries.delete(fingerprint);
    }
  }

  close(): void {
    for (const entry of this.entries.values()) this.stop(entry);
    this.entries.clear();
  }

  private stop(entry: Entry): void {
    entry.closed = true;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
  }

  private async refresh(entry: Entry): Promise<void> {
    let wait = this.retryMs;
    try {
      const request = buildOcspRequest(entry.leafPem, entry.issuerPem);
      const response = await this.fetchResponse(entry.url, request);
      const answer = readOcspResponse(response, entry.leafPem, entry.issuerPem, new Date());
      if (entry.closed) return;
      const changed = entry.response === undefined || !entry.response.equals(response);
      entry.response = response;
      entry.state = {
        status: answer.status,
        fetchedAt: new Date().toISOString(),
        ...(answer.nextUpdate === undefined ? {} : { nextUpdate: answer.nextUpdate.toISOString() }),
      };
      // Refresh halfway to nextUpdate, and at least every refreshMs.
      const untilNext =
        answer.nextUpdate === undefined ? this.refreshMs : (answer.nextUpdate.getTime() - Date.now()) / 2;
      wait = Math.max(1000, Math.min(this.refreshMs, untilNext));
      if (answer.status !== 'good') {
        this.opts.logger.warn(
          { names: entry.names, status: answer.status },
          'OCSP responder: certificate is not good',
        );
      }
      if (changed) this.opts.onUpdate();
    } catch (err) {
      if (entry.closed) return;
      this.opts.logger.warn(
        { code: ErrorCodes.TLS_OCSP_FETCH, names: entry.names, url: entry.url, err: (err as Error).message },
        entry.response === undefined
          ? 'cannot fetch an OCSP response; nothing is stapled for this certificate'
          : 'cannot refresh the OCSP response; the previous one stays stapled',
      );
      if (entry.state === undefined) {
        entry.state = { status: 'error' };
        this.opts.onUpdate();
      }
    }
    if (entry.closed) return;
    entry.timer = setTimeout(() => void this.refresh(entry), wait);
    entry.timer.unref();
  }
}
