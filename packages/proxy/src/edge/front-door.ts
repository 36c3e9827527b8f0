// The per-entry-point connection handler: PROXY protocol, TLS/plain detection, SNI peek, then TCP routing, TLS termination or HTTP.
import type { Socket } from 'node:net';
import { CidrSet, type ConnectionView, type EntryPoint } from '@berth/config';
import type { Logger } from 'pino';
import { CLIENT_HELLO_DEFAULT_MAX_BYTES, parseClientHello } from '../tcp/client-hello.js';
import { parseProxyHeader, unmapIPv4 } from '../tcp/proxy-protocol.js';
import type { TcpConnectionHandler } from '../tcp/tcp-data-plane.js';
import {
  decidesWithoutPeeking,
  matchRoute,
  type TcpRoute,
  type TcpRouterTable,
} from '../tcp/tcp-router-table.js';
import { ACME_TLS_ALPN, type AcmeTlsAlpnAnswer, answerTlsAlpn01 } from '../tls/acme-tls-alpn.js';
import {
  type ConnectionFacts,
  type HttpHandoff,
  setConnectionFacts,
  type TlsTerminator,
} from './contract.js';
import { looksLikeHttp } from './http-sniff.js';

/** How long a client may take to send its PROXY header, its ClientHello or its HTTP request line. */
export const DEFAULT_CLIENT_HELLO_TIMEOUT_MS = 10_000;
/**
 * How long a silent client waits before a plain TCP catch-all takes it as a server-first protocol
 * (SSH, SMTP, MySQL), on an entry point that otherwise needs the client's first bytes.
 */
export const DEFAULT_SERVER_FIRST_WAIT_MS = 1_000;

/** What an entry point's front door needs from the live snapshot; replaced whole by `update`. */
export interface FrontDoorSettings {
  entryPoint: string;
  proxyProtocol?: EntryPoint['proxyProtocol'];
  /** True when HTTP routers (or a redirection) are bound to this entry point. */
  hasHttp: boolean;
  tcp: TcpRouterTable | undefined;
  clientHelloTimeoutMs?: number;
  serverFirstWaitMs?: number;
  /** The live runtime's ACME TLS-ALPN-01 answers by domain (Runtime.acmeTlsAlpn01). */
  acmeTlsAlpn01?: ReadonlyMap<string, AcmeTlsAlpnAnswer> | undefined;
}

export interface FrontDoorDeps {
  logger: Logger;
  tls: TlsTerminator;
  http: HttpHandoff | undefined;
  tcp: TcpConnectionHandler;
}

interface Compiled {
  s: FrontDoorSettings;
  trusted: CidrSet | 'all' | undefined;
  helloTimeoutMs: number;
  serverFirstWaitMs: number;
}

type Wait = 'data' | 'timeout' | 'closed';

/**
 * Collects a connection's first bytes without consuming them for good. The socket is paused after
 * every chunk and resumed only while waiting for more: a client that sends its bytes and a FIN
 * at once (`printf ... | nc -N`) must not have its 'end' emitted during the peek, or the bytes
 * could not be put back (unshift after 'end' fails) and the next owner would never see the FIN.
 */
class Peek {
  buffer: Buffer = Buffer.alloc(0);
  closed = false;
  #wake: ((w: Wait) => void) | undefined;
  readonly #onData = (chunk: Buffer) => {
    this.socket.pause();
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.#wake?.('data');
  };
  readonly #onEnd = () => {
    this.closed = true;
    this.#wake?.('closed');
  };

  constructor(readonly socket: Socket) {
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
  }

  /** Waits for more bytes until `deadline` (epoch ms). */
  next(deadline: number): Promise<Wait> {
    if (this.closed) return Promise.resolve('closed');
    this.socket.resume();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done('timeout'), Math.max(0, deadline - Date.now()));
      const done = (w: Wait) => {
        clearTimeout(timer);
        this.socket.pause();
        this.#wake = undefined;
        resolve(w);
      };
      this.#wake = done;
    });
  }

  /** Stops peeking and puts `bytes` back in front of the socket's stream, paused, for the next owner. */
  release(bytes: Buffer): void {
    this.socket.removeListener('data', this.#onData);
    this.socket.removeListener('end', this.#onEnd);
    this.socket.removeListener('close', this.#onEnd);
    this.socket.pause();
    if (bytes.length > 0) this.socket.unshift(bytes);
  }
}

/**
 * One per entry point. Use `handle` as the net.Server's 'connection' listener; the server must
 * be created with `allowHalfOpen: true` so TCP half-close reaches the servers.
 *
 * Order of decisions:
 * 1. PROXY protocol (when configured): a header from a trusted source supplies the client
 *    address (optional, as in Traefik); a connection from another source that starts with one is
 *    refused. The bytes after it are what the rest sees.
 * 2. An entry point with only plain TCP routers (no TLS router, no HTTP) hands the connection on
 *    at once, so server-first protocols work. (With `proxyProtocol` set, the header is waited for
 *    up to `serverFirstWaitMs` first.)
 * 3. Otherwise the first bytes are read, within `clientHelloTimeoutMs`; if a plain router would
 *    take a client that says nothing, it gets it after `serverFirstWaitMs` of silence.
 *    A ClientHello offering `acme-tls/1` is Berth's whatever the routers (TLS-ALPN-01): for a
 *    domain with an answer in the snapshot, the challenge certificate, `acme-tls/1`, close;
 *    for any other name, terminated for HTTP as usual (which never negotiates `acme-tls/1`).
 *    Any other ClientHello goes to the TLS routers by priority (passthrough: raw bytes; else terminated
 *    here), then to HTTPS, then to a plain catch-all (raw); else the connection closes.
 *    Not TLS: a plain router (or HTTP when the bytes start with an HTTP method and the entry
 *    point has HTTP routers), else HTTP, else close. Garbage closes only that connection.
 */
export class FrontDoor {
  readonly #deps: FrontDoorDeps;
  #current: Compiled;

  constructor(settings: FrontDoorSettings, deps: FrontDoorDeps) {
    this.#deps = deps;
    this.#current = compile(settings);
  }

  /** Swaps the settings in one assignment; connections already past the door are not affected. */
  update(settings: FrontDoorSettings): void {
    this.#current = compile(settings);
  }

  get settings(): FrontDoorSettings {
    return this.#current.s;
  }

  readonly handle = (socket: Socket): void => {
    const c = this.#current;
    const log = this.#deps.logger;
    socket.on('error', (err) =>
      log.debug({ entryPoint: c.s.entryPoint, err: err.message }, 'client connection error'),
    );
    this.#run(socket, c).catch((err: unknown) => {
      log.error({ entryPoint: c.s.entryPoint, err }, 'front door failed on a connection');
      socket.destroy();
    });
  };

  async #run(socket: Socket, c: Compiled): Promise<void> {
    const log = this.#deps.logger;
    const ep = c.s.entryPoint;
    if (socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    const facts: ConnectionFacts = {
      clientIp: unmapIPv4(socket.remoteAddress),
      clientPort: socket.remotePort ?? 0,
      localIp: unmapIPv4(socket.localAddress ?? ''),
      localPort: socket.localPort ?? 0,
      viaProxyProtocol: false,
    };
    const plainView: ConnectionView = { serverName: '', alpn: [], clientIp: facts.clientIp, tls: false };
    const table = c.s.tcp;
    const immediate = decidesWithoutPeeking(table, c.s.hasHttp);

    if (immediate && c.trusted === undefined) {
      this.#toTcpPlain(socket, facts, table, undefined);
      return;
    }

    const peek = new Peek(socket);
    const start = Date.now();
    const helloDeadline = start + c.helloTimeoutMs;
    const drop = (reason: string, extra: Record<string, unknown> = {}) => {
      log.debug(
        { entryPoint: ep, client: facts.clientIp, reason, ...extra },
        'connection closed by the front door',
      );
      peek.release(Buffer.alloc(0));
      socket.destroy();
    };

    // A plain router that would take a client that never speaks (server-first protocols).
    const silentRoute = table ? matchRoute(table.plainRoutes, plainView) : undefined;
    const firstBytesDeadline = silentRoute
      ? Math.min(helloDeadline, start + c.serverFirstWaitMs)
      : helloDeadline;
    const firstBytes = async (): Promise<'data' | 'silent' | 'closed'> => {
      while (peek.buffer.length === 0) {
        const w = await peek.next(firstBytesDeadline);
        if (w === 'closed') return 'closed';
        if (w === 'timeout') return 'silent';
      }
      return 'data';
    };

    let first = await firstBytes();
    if (first === 'closed') return drop('closed before sending anything');

    // 1. PROXY protocol.
    let offset = 0;
    if (c.trusted !== undefined && first === 'data') {
      const trusted = c.trusted === 'all' || c.trusted.contains(facts.clientIp);
      if (!trusted) {
        // Wait while the bytes are a strict prefix of a signature (a lone `P` may still be a POST).
        for (;;) {
          const p = parseProxyHeader(peek.buffer);
          if (p.kind === 'none') break;
          if (p.kind !== 'more') return drop('PROXY protocol header from an untrusted source');
          const w = await peek.next(helloDeadline);
          if (w !== 'data') return drop('closed or silent during the first bytes');
        }
      } else {
        for (;;) {
          const p = parseProxyHeader(peek.buffer);
          if (p.kind === 'none') break;
          if (p.kind === 'error') return drop('bad PROXY protocol header', { error: p.message });
          if (p.kind === 'header') {
            offset = p.header.length;
            if (p.header.command === 'proxy' && p.header.source && p.header.destination) {
              facts.clientIp = unmapIPv4(p.header.source.ip);
              facts.clientPort = p.header.source.port;
              facts.localIp = unmapIPv4(p.header.destination.ip);
              facts.localPort = p.header.destination.port;
              facts.viaProxyProtocol = true;
              plainView.clientIp = facts.clientIp;
            }
            break;
          }
          const w = await peek.next(helloDeadline);
          if (w !== 'data') return drop('incomplete PROXY protocol header');
        }
        if (offset > 0 && peek.buffer.length === offset) {
          // The header came alone: what follows may be a server-first silence.
          const w = await peek.next(
            matchRoute(table?.plainRoutes ?? [], plainView)
              ? Math.min(helloDeadline, Date.now() + c.serverFirstWaitMs)
              : helloDeadline,
          );
          if (w === 'closed') return drop('closed after the PROXY header');
          if (w === 'timeout') first = 'silent';
        }
      }
    }
    const rest = () => peek.buffer.subarray(offset);
    const handOver = () => peek.release(rest());

    if (immediate || first === 'silent') {
      const route = matchRoute(table?.plainRoutes ?? [], plainView);
      if (route === undefined) return drop('client sent nothing in time');
      handOver();
      this.#toTcpPlain(socket, facts, table, route);
      return;
    }

    // 2. Classify by the first bytes.
    for (;;) {
      const hello = parseClientHello(rest(), CLIENT_HELLO_DEFAULT_MAX_BYTES);
      if (hello.kind === 'malformed') return drop('malformed TLS ClientHello', { error: hello.reason });
      if (hello.kind === 'hello') {
        facts.hello = { serverName: hello.serverName, alpn: hello.alpn };
        handOver();
        await this.#tls(socket, facts, c);
        return;
      }
      if (hello.kind === 'not-tls') break;
      const w = await peek.next(helloDeadline);
      if (w !== 'data')
        return drop(w === 'timeout' ? 'ClientHello not complete in time' : 'closed during the ClientHello');
    }

    const route = matchRoute(table?.plainRoutes ?? [], plainView);
    if (route !== undefined && c.s.hasHttp && this.#deps.http) {
      // Both plain TCP and HTTP here: an HTTP request line goes to HTTP.
      for (;;) {
        const sniff = looksLikeHttp(rest());
        if (sniff === 'yes') {
          handOver();
          this.#toHttp(socket, facts);
          return;
        }
        if (sniff === 'no') break;
        const w = await peek.next(helloDeadline);
        if (w === 'closed') return drop('closed during the first bytes');
        if (w === 'timeout') break;
      }
    }
    handOver();
    if (route !== undefined) {
      setConnectionFacts(socket, facts);
      this.#deps.tcp.serve(ep, route, socket, facts);
      return;
    }
    if (c.s.hasHttp && this.#deps.http) {
      this.#toHttp(socket, facts);
      return;
    }
    log.debug({ entryPoint: ep, client: facts.clientIp }, 'no router for a plain connection: closed');
    socket.destroy();
  }

  /**
   * node:http fed with emit('connection') reads the socket's handle directly (parser.consume) and
   * only sees bytes put back with unshift when the stream flows: without the resume below, a
   * peeked request waits for the client's next bytes and is answered after them (checked by
   * test). Resuming once the server has attached its listeners delivers them first, in a tick
   * before any new read from the handle.
   */
  #toHttp(socket: Socket, facts: ConnectionFacts): void {
    setConnectionFacts(socket, facts);
    this.#deps.http?.serve(socket, facts);
    if (!socket.destroyed && socket.isPaused()) socket.resume();
  }

  #toTcpPlain(
    socket: Socket,
    facts: ConnectionFacts,
    table: TcpRouterTable | undefined,
    route: TcpRoute | undefined,
  ): void {
    const view: ConnectionView = { serverName: '', alpn: [], clientIp: facts.clientIp, tls: false };
    const chosen = route ?? matchRoute(table?.plainRoutes ?? [], view);
    if (chosen === undefined) {
      this.#deps.logger.debug(
        { entryPoint: this.#current.s.entryPoint, client: facts.clientIp },
        'no tcp router matches: closed',
      );
      socket.destroy();
      return;
    }
    setConnectionFacts(socket, facts);
    this.#deps.tcp.serve(this.#current.s.entryPoint, chosen, socket, facts);
  }

  async #tls(socket: Socket, facts: ConnectionFacts, c: Compiled): Promise<void> {
    const ep = c.s.entryPoint;
    const hello = facts.hello ?? { serverName: '', alpn: [] };
    const view: ConnectionView = {
      serverName: hello.serverName,
      alpn: hello.alpn,
      clientIp: facts.clientIp,
      tls: true,
    };
    const table = c.s.tcp;
    setConnectionFacts(socket, facts);
    if (hello.alpn.includes(ACME_TLS_ALPN)) {
      // TLS-ALPN-01 validation is Berth's own business (Traefik checks it before TCP routers too):
      // no TCP router sees it. Only clients offering `acme-tls/1` pay for the lookup.
      const answer = c.s.acmeTlsAlpn01?.get(hello.serverName);
      if (answer !== undefined) {
        answerTlsAlpn01(socket, answer, this.#deps.logger, { entryPoint: ep, client: facts.clientIp });
        return;
      }
      // No order runs for this name: the usual certificate, and h2 or http/1.1 at most.
      const secure = await this.#deps.tls.terminate(socket, facts, 'http');
      if (secure === null) return;
      setConnectionFacts(secure, facts);
      if (this.#deps.http) this.#deps.http.serve(secure, facts);
      else secure.end();
      return;
    }
    const route = table ? matchRoute(table.tlsRoutes, view) : undefined;
    if (route !== undefined) {
      if (route.passthrough) {
        this.#deps.tcp.serve(ep, route, socket, facts);
        return;
      }
      const secure = await this.#deps.tls.terminate(socket, facts, 'tcp');
      if (secure === null) return;
      setConnectionFacts(secure, facts);
      this.#deps.tcp.serve(ep, route, secure, facts);
      return;
    }
    if (c.s.hasHttp && this.#deps.http) {
      const secure = await this.#deps.tls.terminate(socket, facts, 'http');
      if (secure === null) return;
      setConnectionFacts(secure, facts);
      this.#deps.http.serve(secure, facts);
      return;
    }
    // A plain catch-all (`HostSNI(\`*\`)` without tls) takes TLS bytes too, untouched.
    const raw = table ? matchRoute(table.plainRoutes, view) : undefined;
    if (raw !== undefined) {
      this.#deps.tcp.serve(ep, raw, socket, facts);
      return;
    }
    this.#deps.logger.debug(
      { entryPoint: ep, client: facts.clientIp, sni: hello.serverName },
      'no router for a TLS connection: closed',
    );
    socket.destroy();
  }
}

function compile(s: FrontDoorSettings): Compiled {
  const pp = s.proxyProtocol;
  const trusted = pp === undefined ? undefined : pp.insecure ? 'all' : CidrSet.parse(pp.trustedIPs ?? []).set;
  return {
    s,
    trusted,
    helloTimeoutMs: s.clientHelloTimeoutMs ?? DEFAULT_CLIENT_HELLO_TIMEOUT_MS,
    serverFirstWaitMs: s.serverFirstWaitMs ?? DEFAULT_SERVER_FIRST_WAIT_MS,
  };
}
