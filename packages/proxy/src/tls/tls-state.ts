// The TLS side of one snapshot: certificates by name, options in effect per entry point, secure contexts built once and shared.
import { createHash, X509Certificate } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import { createSecureContext, Server } from 'node:tls';
import type {
  EntryPoint,
  HttpRouter,
  ResolvedCertificate,
  ResolvedTls,
  TcpRouter,
  TlsOptions,
} from '@berth/config';
import type { Logger } from 'pino';
import { CertificateIndex } from './certificate-index.js';
import type { TlsProblem } from './options-in-effect.js';
import { type OptionsInEffect, optionsInEffect } from './options-in-effect.js';
import type { ServerSettings, SocketSettings } from './server-options.js';
import { serverSettings } from './server-options.js';

export const TLS_CERTIFICATE_UNUSABLE = 'BERTH_PROXY_TLS_CERTIFICATE_UNUSABLE';

/** What a snapshot body holds that TLS termination reads. */
export interface TlsStateInput {
  tls?: ResolvedTls | undefined;
  entryPoints: Readonly<Record<string, EntryPoint>>;
  http: { routers: Readonly<Record<string, HttpRouter>> };
  tcp?: { routers?: Readonly<Record<string, TcpRouter>> | undefined } | undefined;
}

/** How to run one handshake: the context (certificate × options) and the socket's settings. */
export interface HandshakePlan {
  context: SecureContext;
  socket: SocketSettings;
  /** Names for logs: the options in effect and the certificate's first name. */
  optionsName: string;
  certificate: string;
}

/** Session ticket keys are 48 bytes: 16 name, 16 HMAC, 16 AES. */
const TICKET_KEY_BYTES = 48;

/**
 * Built once per snapshot, off to the side, then handed to every terminator in one assignment.
 * Secure contexts are created on first use per certificate × options and kept for the life of
 * the snapshot, so a handshake never parses a key. Every context encrypts session tickets with
 * the snapshot's first ticket key, which all nodes share: a session from one node resumes on
 * another. (Node offers no way to keep older keys for decryption only: after a rotation, older
 * tickets fall back to a full handshake.)
 */
export class TlsState {
  readonly problems: readonly TlsProblem[];
  /** Not listening: the OCSPRequest event source every TLS socket of this snapshot points at. */
  readonly server: Server;
  readonly #certs: CertificateIndex;
  readonly #options: Readonly<Record<string, TlsOptions>>;
  readonly #settings = new Map<string, ServerSettings>();
  readonly #byEntryPoint = new Map<string, OptionsInEffect>();
  readonly #contexts = new Map<string, SecureContext | null>();
  /** Contexts by everything they are made of, so the next snapshot can take over unchanged ones. */
  readonly #byContent = new Map<string, SecureContext>();
  /** The replaced state's contexts (its map only, so states never chain up in memory). */
  readonly #inherited: ReadonlyMap<string, SecureContext> | undefined;
  readonly #ticketKeys: Buffer | undefined;
  readonly #ocsp = new Map<string, Buffer>();
  readonly #logger: Logger | undefined;

  /**
   * `previous`: the state this one replaces; contexts whose certificate, key, settings and
   * ticket key are unchanged are taken over instead of parsing the key again.
   */
  constructor(input: TlsStateInput & { tls: ResolvedTls }, logger?: Logger, previous?: TlsState) {
    const tls = input.tls;
    this.#logger = logger;
    this.#inherited = previous === undefined ? undefined : previous.#byContent;
    this.#certs = new CertificateIndex(tls.certificates ?? [], tls.defaultCertificate);
    this.#options = tls.options ?? {};
    const known = new Set(Object.keys(this.#options));
    known.add('default');
    const problems: TlsProblem[] = [];
    for (const [name, ep] of Object.entries(input.entryPoints)) {
      const result = optionsInEffect(name, ep, input.http.routers, known, input.tcp?.routers);
      this.#byEntryPoint.set(name, result.options);
      problems.push(...result.problems);
    }
    this.problems = problems;
    const key = tls.sessionTicketKeys?.[0];
    const bytes = key === undefined ? undefined : Buffer.from(key, 'base64');
    this.#ticketKeys = bytes?.length === TICKET_KEY_BYTES ? bytes : undefined;
    for (const cert of this.#certs.certificates) {
      if (cert.ocspResponse === undefined || cert.ocspResponse === '') continue;
      const der = leafDer(cert.certPem);
      if (der !== undefined) this.#ocsp.set(der, Buffer.from(cert.ocspResponse, 'base64'));
    }
    this.server = ocspServer(this.#ocsp, tls.defaultCertificate);
  }

  /** From a snapshot body; undefined when it carries no `tls` section (nothing can terminate). */
  static fromBody(body: TlsStateInput, logger?: Logger, previous?: TlsState): TlsState | undefined {
    const tls = body.tls;
    if (tls === undefined) return undefined;
    return new TlsState({ ...body, tls }, logger, previous);
  }

  /** The options name in effect for a server name on an entry point. */
  optionsNameFor(entryPoint: string, serverName: string): string {
    return this.#byEntryPoint.get(entryPoint)?.forName(serverName) ?? 'default';
  }

  /**
   * How to answer a ClientHello for `serverName` (`''`: no SNI) on an entry point, or null when
   * the handshake must be refused (sniStrict and an unknown or missing name, or an unusable
   * certificate).
   */
  plan(entryPoint: string, serverName: string): HandshakePlan | null {
    const optionsName = this.optionsNameFor(entryPoint, serverName);
    const options = this.#options[optionsName] ?? this.#options['default'] ?? {};
    const choice = this.#certs.select(serverName, options.sniStrict === true);
    if (choice === null) return null;
    const settings = this.#settingsOf(optionsName, options);
    const context = this.#context(choice.index, optionsName, settings);
    if (context === null) return null;
    const cert = this.#certs.certificates[choice.index];
    return { context, socket: settings.socket, optionsName, certificate: cert?.names[0] ?? '' };
  }

  #settingsOf(name: string, options: TlsOptions): ServerSettings {
    let settings = this.#settings.get(name);
    if (settings === undefined) {
      settings = serverSettings(options);
      this.#settings.set(name, settings);
    }
    return settings;
  }

  #context(certIndex: number, optionsName: string, settings: ServerSettings): SecureContext | null {
    const key = `${certIndex}\u0000${optionsName}`;
    const cached = this.#contexts.get(key);
    if (cached !== undefined) return cached;
    const cert = this.#certs.certificates[certIndex]!;
    const s = settings.context;
    const content = createHash('sha256')
      .update(
        JSON.stringify([cert.certPem, cert.keyPem, s, optionsName, this.#ticketKeys?.toString('base64')]),
      )
      .digest('base64');
    const inherited = this.#inherited?.get(content);
    if (inherited !== undefined) {
      this.#contexts.set(key, inherited);
      this.#byContent.set(content, inherited);
      return inherited;
    }
    let context: SecureContext | null;
    try {
      context = createSecureContext({
        cert: cert.certPem,
        key: cert.keyPem,
        ciphers: s.ciphers,
        minVersion: s.minVersion,
        maxVersion: s.maxVersion,
        ...(s.ecdhCurve === undefined ? {} : { ecdhCurve: s.ecdhCurve }),
        ...(s.secureOptions === 0 ? {} : { secureOptions: s.secureOptions }),
        ...(s.ca.length === 0 ? {} : { ca: s.ca }),
        ...(this.#ticketKeys === undefined ? {} : { ticketKeys: this.#ticketKeys }),
        // OpenSSL resumes a session only in the context it was made in: the same on every node.
        sessionIdContext: sessionIdContext(optionsName),
        honorCipherOrder: true,
      });
    } catch (err) {
      // The controller checks certificates; this is defence in depth. Never log the key.
      this.#logger?.error(
        {
          code: TLS_CERTIFICATE_UNUSABLE,
          certificate: cert.names[0],
          options: optionsName,
          err: (err as Error).message,
        },
        'TLS certificate or options unusable; handshakes for it are refused',
      );
      context = null;
    }
    this.#contexts.set(key, context);
    if (context !== null) this.#byContent.set(content, context);
    return context;
  }
}

/**
 * Node asks a socket's `server` for the OCSP response, with the certificate of the context in
 * use: the SNI one, else the server's own, hence the default certificate on it.
 */
function ocspServer(responses: ReadonlyMap<string, Buffer>, fallback: ResolvedCertificate): Server {
  let server: Server;
  try {
    server = new Server(responses.size > 0 ? { cert: fallback.certPem, key: fallback.keyPem } : {});
  } catch {
    server = new Server();
  }
  if (responses.size > 0) {
    server.on('OCSPRequest', (certificate: Buffer | null, _issuer: unknown, done: OcspDone) =>
      done(null, certificate ? responses.get(certificate.toString('base64')) : undefined),
    );
  }
  return server;
}

type OcspDone = (err: Error | null, response?: Buffer) => void;

function sessionIdContext(optionsName: string): string {
  return createHash('sha256').update(`berth\u0000${optionsName}`).digest('hex').slice(0, 32);
}

function leafDer(pem: string): string | undefined {
  try {
    return new X509Certificate(pem).raw.toString('base64');
  } catch {
    return undefined;
  }
}
