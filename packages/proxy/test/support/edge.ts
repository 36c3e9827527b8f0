// A front door on loopback with a real TcpDataPlane and simple stand-ins for TLS termination and HTTP, plus TCP backends.
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import {
  createSecureContext,
  createServer as createTlsServer,
  type SecureContext,
  TLSSocket,
} from 'node:tls';
import type { EntryPoint, TcpConfig } from '@berth/config';
import type { Logger } from 'pino';
import pino from 'pino';
import {
  type ConnectionFacts,
  connectionFacts,
  type HttpHandoff,
  type TlsTerminator,
} from '../../src/edge/contract.js';
import { FrontDoor } from '../../src/edge/front-door.js';
import { TcpDataPlane } from '../../src/tcp/tcp-data-plane.js';

export const silentLogger = pino({ level: 'silent' });

export async function listenLoopback(server: Server | HttpServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** TLS stand-in: a TLSSocket server-side over the socket whose ClientHello was put back with unshift. */
export class FakeTls implements TlsTerminator {
  readonly context: SecureContext;
  readonly purposes: ('http' | 'tcp')[] = [];
  constructor(pem: { certPem: string; keyPem: string }) {
    this.context = createSecureContext({ cert: pem.certPem, key: pem.keyPem });
  }
  terminate(socket: Socket, _facts: ConnectionFacts, purpose: 'http' | 'tcp'): Promise<TLSSocket | null> {
    this.purposes.push(purpose);
    const secure = new TLSSocket(socket, {
      isServer: true,
      secureContext: this.context,
      // acme-tls/1 so a test sees such a hello reach the terminator; the real one never offers it
      // (a snapshot's TLS-ALPN-01 answers are the front door's: acme-tls-alpn01.test.ts).
      ALPNProtocols: purpose === 'http' ? ['http/1.1', 'acme-tls/1'] : [],
    });
    return new Promise((resolve) => {
      secure.once('secure', () => resolve(secure));
      secure.once('error', () => {
        secure.destroy();
        resolve(null);
      });
    });
  }
}

/** HTTP stand-in: a node:http server fed with emit('connection'); answers what it saw. */
export class FakeHttp implements HttpHandoff {
  readonly server: HttpServer;
  readonly seen: { url: string; tls: boolean; facts: ConnectionFacts | undefined }[] = [];
  constructor() {
    this.server = createHttpServer((req, res) => {
      const tls = req.socket instanceof TLSSocket;
      const facts = connectionFacts(req.socket);
      this.seen.push({ url: req.url ?? '', tls, facts });
      res.end(`http ${tls ? 'tls' : 'plain'} ${req.url} from ${facts?.clientIp}:${facts?.clientPort}`);
    });
  }
  serve(socket: Socket | TLSSocket): void {
    this.server.emit('connection', socket);
  }
}

export interface Edge {
  port: number;
  door: FrontDoor;
  plane: TcpDataPlane;
  http: FakeHttp;
  tls: FakeTls;
  server: Server;
  /** Applies a new tcp config (and HTTP presence) like a snapshot would. */
  update(tcp: TcpConfig | undefined, hasHttp?: boolean, routeRemovalGraceMs?: number): void;
  close(): Promise<void>;
}

export interface EdgeOptions {
  tcp?: TcpConfig;
  hasHttp?: boolean;
  proxyProtocol?: EntryPoint['proxyProtocol'];
  clientHelloTimeoutMs?: number;
  serverFirstWaitMs?: number;
  pem: { certPem: string; keyPem: string };
  logger?: Logger;
}

export async function startEdge(options: EdgeOptions): Promise<Edge> {
  const logger = options.logger ?? silentLogger;
  const plane = new TcpDataPlane({ logger });
  const http = new FakeHttp();
  const tls = new FakeTls(options.pem);
  const settings = (hasHttp: boolean) => ({
    entryPoint: 'ep',
    hasHttp,
    tcp: plane.table('ep'),
    ...(options.proxyProtocol ? { proxyProtocol: options.proxyProtocol } : {}),
    ...(options.clientHelloTimeoutMs !== undefined
      ? { clientHelloTimeoutMs: options.clientHelloTimeoutMs }
      : {}),
    ...(options.serverFirstWaitMs !== undefined ? { serverFirstWaitMs: options.serverFirstWaitMs } : {}),
  });
  plane.update({ entryPoints: ['ep'], tcp: options.tcp });
  const door = new FrontDoor(settings(options.hasHttp ?? false), { logger, tls, http, tcp: plane });
  const server = createServer({ allowHalfOpen: true }, door.handle);
  const port = await listenLoopback(server);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    port,
    door,
    plane,
    http,
    tls,
    server,
    update(tcp, hasHttp = options.hasHttp ?? false, grace) {
      plane.update({
        entryPoints: ['ep'],
        tcp,
        ...(grace !== undefined ? { routeRemovalGraceMs: grace } : {}),
      });
      door.update(settings(hasHttp));
    },
    async close() {
      plane.close();
      for (const s of sockets) s.destroy();
      server.close();
      http.server.close();
    },
  };
}

export interface TcpBackend {
  port: number;
  server: Server;
  /** Every byte each connection received, in order of connection. */
  received: Buffer[][];
  close(): void;
}

/** A TCP server; `onConnection` decides what it does (echo by default). */
export async function startTcpBackend(
  onConnection?: (socket: Socket, index: number) => void,
): Promise<TcpBackend> {
  const received: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    received.push(chunks);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => chunks.push(c));
    if (onConnection) onConnection(socket, received.length - 1);
    else socket.pipe(socket);
  });
  const port = await listenLoopback(server);
  return {
    port,
    server,
    received,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** A TLS server presenting `pem`; echoes and reports the SNI it saw. */
export async function startTlsBackend(pem: { certPem: string; keyPem: string }): Promise<{
  port: number;
  server: ReturnType<typeof createTlsServer>;
  close(): void;
}> {
  const sockets = new Set<Socket>();
  const server = createTlsServer({ cert: pem.certPem, key: pem.keyPem, allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    socket.write(`sni=${(socket as TLSSocket & { servername?: string | false }).servername || ''}\n`);
    socket.pipe(socket);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    server,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Reads from `socket` until `predicate(all bytes)` holds or it ends; resolves with the bytes. */
export function readUntil(
  socket: Socket,
  predicate: (all: Buffer) => boolean,
  timeoutMs = 5000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let all = Buffer.alloc(0);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`readUntil timed out with ${JSON.stringify(all.toString('latin1').slice(0, 200))}`));
    }, timeoutMs);
    const onData = (c: Buffer) => {
      all = Buffer.concat([all, c]);
      if (predicate(all)) {
        cleanup();
        resolve(all);
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(all);
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onEnd);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  });
}
