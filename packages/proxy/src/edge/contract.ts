// The contract between an entry point's front door (PROXY protocol, TLS/plain detection, SNI peek,
// TCP routing) and what it hands connections to (TLS termination, the HTTP server, TCP forwarding).
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** What the front door learnt about a connection before handing it on. */
export interface ConnectionFacts {
  /** The client's address without port: from a trusted PROXY header, else the TCP peer. */
  clientIp: string;
  clientPort: number;
  /** The address the client connected to (from the PROXY header when there was one). */
  localIp: string;
  localPort: number;
  /** True when a trusted PROXY protocol header supplied the addresses above. */
  viaProxyProtocol: boolean;
  /** TLS connections only: what the ClientHello offered. */
  hello?: ClientHelloFacts;
}

export interface ClientHelloFacts {
  /** SNI, lower-case, no trailing dot; `''` when the client sent none. */
  serverName: string;
  /** ALPN protocols offered, in the client's order; empty when none. */
  alpn: string[];
}

const facts = new WeakMap<object, ConnectionFacts>();

/** Tags a socket (raw or TLS) with what the front door learnt; HTTP and TCP handling read it back. */
export function setConnectionFacts(socket: Socket | TLSSocket, value: ConnectionFacts): void {
  facts.set(socket, value);
}

export function connectionFacts(socket: Socket | TLSSocket): ConnectionFacts | undefined {
  return facts.get(socket);
}

/**
 * Terminates TLS on a socket whose ClientHello bytes are still unread (the front door put them
 * back with `unshift`). Resolves with the handshaken socket, or null when the handshake failed
 * (the socket is then destroyed and the failure logged at debug level).
 *
 * `purpose`: `http` offers the HTTP ALPN protocols of the TLS options in effect (h2, http/1.1);
 * `tcp` offers none (a TCP router with TLS termination).
 */
export interface TlsTerminator {
  terminate(socket: Socket, facts: ConnectionFacts, purpose: 'http' | 'tcp'): Promise<TLSSocket | null>;
}

/** Serves HTTP on a connection: plain (a raw socket) or TLS (handshaken; h2 or http/1.1 by its ALPN). */
export interface HttpHandoff {
  serve(socket: Socket | TLSSocket, facts: ConnectionFacts): void;
}

/*
 * How the front door hands a socket over (checked by packages/proxy/test/front-door.test.ts):
 * - The bytes it read to decide (PROXY header excluded) are put back with `socket.unshift` and
 *   the socket is paused. A TLSSocket built over it (`new TLSSocket(socket, ...)` or a
 *   tls.Server fed with `emit('connection', socket)`) reads them first by itself.
 * - node:http fed with `emit('connection', socket)` reads the handle directly and would leave
 *   them waiting, so the front door calls `socket.resume()` right after `HttpHandoff.serve`
 *   returns: `serve` must attach the HTTP server to the socket synchronously (no await before
 *   `emit('connection')`), or those bytes would flow to nobody.
 * - Net servers feeding the front door are created with `allowHalfOpen: true`, so TCP
 *   half-close reaches the servers.
 */
