// Terminates TLS on a connection the front door peeked at: picks the context by SNI, handshakes, checks the client certificate.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { ConnectionFacts, TlsTerminator } from '../edge/contract.js';
import { setConnectionFacts } from '../edge/contract.js';
import { clientCertAccepted } from './server-options.js';
import type { TlsState } from './tls-state.js';

export interface EdgeTlsTerminatorOptions {
  /** The entry point whose routers decide the TLS options in effect. */
  entryPoint: string;
  logger: Logger;
  /** A handshake not complete by then is dropped (default 10 s). */
  handshakeTimeoutMs?: number;
  state?: TlsState | undefined;
}

/** A fatal `unrecognized_name` alert (TLS 1.0 record version, as a server may answer any hello with). */
const UNRECOGNIZED_NAME = Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x70]);

type HandleWithVerify = { _handle?: { verifyError?: () => Error | null } | null };

/** What a handshaken socket remembers of its handshake; a symbol, so HTTP/2's socket proxy reads it too. */
const kHandshake = Symbol('berth.tls.handshake');

interface HandshakeRecord {
  state: TlsState;
  entryPoint: string;
  serverName: string;
  optionsName: string;
}

type TaggedTlsSocket = { [kHandshake]?: HandshakeRecord };

/**
 * True when a request on this TLS connection names a host whose TLS options differ from those
 * the handshake used (its SNI's): Traefik answers 421 Misdirected Request, so a host requiring a
 * client certificate (or a stricter profile) cannot be reached through a connection opened for
 * another name. A socket this module did not terminate is never misdirected.
 */
export function misdirected(socket: object, host: string): boolean {
  const record = (socket as TaggedTlsSocket)[kHandshake];
  if (record === undefined || host === record.serverName) return false;
  return record.state.optionsNameFor(record.entryPoint, host) !== record.optionsName;
}

/**
 * One per entry point. `update` swaps the snapshot's TLS state in one assignment: handshakes
 * already running finish with the state they started with.
 */
export class EdgeTlsTerminator implements TlsTerminator {
  readonly entryPoint: string;
  #state: TlsState | undefined;
  readonly #logger: Logger;
  readonly #timeoutMs: number;

  constructor(opts: EdgeTlsTerminatorOptions) {
    this.entryPoint = opts.entryPoint;
    this.#logger = opts.logger;
    this.#timeoutMs = opts.handshakeTimeoutMs ?? 10_000;
    this.#state = opts.state;
  }

  update(state: TlsState | undefined): void {
    this.#state = state;
  }

  get state(): TlsState | undefined {
    return this.#state;
  }

  terminate(socket: Socket, facts: ConnectionFacts, purpose: 'http' | 'tcp'): Promise<TLSSocket | null> {
    const state = this.#state;
    const serverName = facts.hello?.serverName ?? '';
    const plan = state?.plan(this.entryPoint, serverName);
    if (state === undefined || plan === null || plan === undefined) {
      this.#logger.debug(
        { entryPoint: this.entryPoint, serverName, client: facts.clientIp },
        state === undefined ? 'TLS refused: no TLS configuration' : 'TLS refused: unknown server name',
      );
      refuse(socket);
      return Promise.resolve(null);
    }
    const entryPoint = this.entryPoint;
    const settings = plan.socket;
    return new Promise<TLSSocket | null>((resolve) => {
      let done = false;
      const tlsSocket = new TLSSocket(socket, {
        isServer: true,
        server: state.server,
        secureContext: plan.context,
        requestCert: settings.requestCert,
        rejectUnauthorized: false,
        ...(purpose === 'http' && settings.alpn.length > 0 ? { ALPNProtocols: settings.alpn } : {}),
        // The SNI read from the wire agrees with the front door's peek; it is checked again all the same.
        SNICallback: (name, cb) => {
          const again = state.plan(entryPoint, name.toLowerCase());
          if (again === null) cb(new Error(`unrecognized server name ${name}`), undefined);
          else cb(null, again.context);
        },
      });
      const fail = (reason: string, err?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#logger.debug(
          { entryPoint, serverName, client: facts.clientIp, err: (err as Error | undefined)?.message },
          `TLS handshake failed: ${reason}`,
        );
        tlsSocket.destroy();
        socket.destroy();
        resolve(null);
      };
      const timer = setTimeout(() => fail('timeout'), this.#timeoutMs);
      const onError = (err: Error): void => fail('error', err);
      const onClose = (): void => fail('closed by the client');
      tlsSocket.on('error', onError);
      tlsSocket.once('close', onClose);
      tlsSocket.once('secure', () => {
        if (done) return;
        if (settings.requestCert) {
          const presented = Object.keys(tlsSocket.getPeerCertificate() ?? {}).length > 0;
          const error = (tlsSocket as unknown as HandleWithVerify)._handle?.verifyError?.() ?? null;
          if (!clientCertAccepted(settings.clientAuth, presented, error?.message ?? null)) {
            fail(`client certificate refused (${settings.clientAuth})`, error ?? undefined);
            return;
          }
        }
        done = true;
        clearTimeout(timer);
        // What tls.Server does before 'secureConnection': http2 waits for it to become false.
        (tlsSocket as unknown as { secureConnecting: boolean }).secureConnecting = false;
        // The listeners stay: after `done` they do nothing, and an error the consumer has not
        // subscribed to yet must not crash the process.
        setConnectionFacts(tlsSocket, facts);
        (tlsSocket as TaggedTlsSocket)[kHandshake] = {
          state,
          entryPoint,
          serverName,
          optionsName: plan.optionsName,
        };
        resolve(tlsSocket);
      });
    });
  }
}

/** Refuses a ClientHello with an alert the client can name, then closes. */
function refuse(socket: Socket): void {
  socket.on('error', noop);
  socket.end(UNRECOGNIZED_NAME);
  setTimeout(() => socket.destroy(), 1000).unref();
}

function noop(): void {}
