// ACME TLS-ALPN-01 (RFC 8737): the snapshot's challenge certificates as secure contexts, and the handshake that answers with one.
import type { Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { normaliseName } from './certificate-index.js';

/** The ALPN protocol a CA's validation offers (and the only one it offers). */
export const ACME_TLS_ALPN = 'acme-tls/1';

/** An answer's certificate or key cannot be loaded: that answer is skipped, the snapshot applies. */
export const ACME_TLS_ALPN_UNUSABLE = 'BERTH_PROXY_ACME_TLS_ALPN_UNUSABLE';

/**
 * How long the CA's handshake may take: a validation completes in one round trip or two, and a
 * client that offers `acme-tls/1` and then stalls holds nothing of value (Traefik bounds it too).
 */
export const ACME_TLS_ALPN_HANDSHAKE_MS = 5_000;

/** One domain's challenge certificate, its context made once when the snapshot is built. */
export interface AcmeTlsAlpnAnswer {
  readonly domain: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly context: SecureContext;
}

/**
 * The body's `acme.tlsAlpn01` list (unchecked JSON) as answers by lower-case domain. An entry
 * whose shape or PEM is unusable is skipped and logged: it can only fail its own order, never the
 * snapshot. `previous`: the live runtime's answers, whose contexts are taken over when the
 * certificate and key are unchanged (a snapshot that changes anything else parses no key).
 * When several entries name a domain, the first usable one answers.
 */
export function acmeTlsAlpnAnswers(
  list: unknown,
  previous: ReadonlyMap<string, AcmeTlsAlpnAnswer> | undefined,
  logger: Logger,
): Map<string, AcmeTlsAlpnAnswer> {
  const answers = new Map<string, AcmeTlsAlpnAnswer>();
  if (!Array.isArray(list)) return answers;
  for (const entry of list as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { domain: raw, certPem, keyPem } = entry as Record<string, unknown>;
    if (typeof raw !== 'string' || typeof certPem !== 'string' || typeof keyPem !== 'string') {
      logger.error(
        { code: ACME_TLS_ALPN_UNUSABLE },
        'ACME TLS-ALPN-01 answer without domain, certPem or keyPem: skipped',
      );
      continue;
    }
    const domain = normaliseName(raw);
    if (domain === '' || answers.has(domain)) continue;
    const before = previous?.get(domain);
    if (before !== undefined && before.certPem === certPem && before.keyPem === keyPem) {
      answers.set(domain, before);
      continue;
    }
    try {
      // Protocol and ciphers are Node's defaults: the CA is a modern client, and the answer
      // must not depend on the entry point's TLS options (sniStrict, client certificates).
      const context = createSecureContext({ cert: certPem, key: keyPem });
      answers.set(domain, { domain, certPem, keyPem, context });
    } catch (err) {
      // Never log the key.
      logger.error(
        { code: ACME_TLS_ALPN_UNUSABLE, domain, err: (err as Error).message },
        'ACME TLS-ALPN-01 certificate or key unusable: this challenge is not answered',
      );
    }
  }
  return answers;
}

/**
 * Answers a CA's validation on `socket`, whose ClientHello bytes are still unread (put back by
 * the front door): handshakes with the challenge certificate, negotiates `acme-tls/1` (the client
 * offered it), then closes, as RFC 8737 §3 has the CA do nothing more on the connection. No
 * router, service or HTTP server sees it.
 */
export function answerTlsAlpn01(
  socket: Socket,
  answer: AcmeTlsAlpnAnswer,
  logger: Logger,
  context: { entryPoint: string; client: string },
  timeoutMs = ACME_TLS_ALPN_HANDSHAKE_MS,
): void {
  const tlsSocket = new TLSSocket(socket, {
    isServer: true,
    secureContext: answer.context,
    ALPNProtocols: [ACME_TLS_ALPN],
  });
  const timer = setTimeout(() => finish('timeout'), timeoutMs);
  let done = false;
  function finish(outcome: string, err?: Error): void {
    if (done) return;
    done = true;
    clearTimeout(timer);
    logger.debug(
      { ...context, domain: answer.domain, outcome, err: err?.message },
      'ACME TLS-ALPN-01 validation handshake',
    );
    if (outcome === 'answered') {
      // close_notify then FIN; the destroy is for a CA that never closes its side.
      tlsSocket.end();
      setTimeout(() => tlsSocket.destroy(), timeoutMs).unref();
    } else {
      tlsSocket.destroy();
      socket.destroy();
    }
  }
  tlsSocket.on('error', (err) => finish('error', err));
  tlsSocket.once('close', () => finish('closed by the client'));
  tlsSocket.once('secure', () => finish('answered'));
}
