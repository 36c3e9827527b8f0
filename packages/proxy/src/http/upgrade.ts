// Relays an Upgrade request (WebSocket and the like): the server's 101 goes back, then both raw sockets are piped.
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ServerTarget } from '../runtime/types.js';
import { serverNameFor, serverNameOptions } from '../tls/server-name.js';
import { downstreamResponseHeaders } from './forwarded-headers.js';
import { proxiedSocket, socketEnds } from './proxy-protocol-connect.js';
import type { TransportSettings } from './servers-transport.js';

export interface UpgradeRelay {
  /** The client's socket, detached from the HTTP server. */
  socket: Duplex;
  /** Bytes the client sent after the request head. */
  head: Buffer;
  server: ServerTarget;
  transport: TransportSettings;
  method: string;
  /** Origin-form target. */
  target: string;
  /** Upstream headers (flat `[name, value, ...]`, Connection and Upgrade included). */
  headers: string[];
  /** Called just before the first raw byte goes to the client, so the caller lets go of the socket. */
  onAnswer(): void;
  /** Called once the tunnel is open, with a way to cut it; and when it closes, with the bytes it carried. */
  onOpen(tunnel: { destroy(): void }): void;
  onClose(bytes: TunnelBytes): void;
}

/** Bytes a tunnel carried each way after the heads (the client's and the server's early bytes included). */
export interface TunnelBytes {
  fromClient: number;
  toClient: number;
}

export type UpgradeResult =
  | { kind: 'upgraded' }
  | { kind: 'response'; status: number }
  | { kind: 'error'; reason: 'timeout' | 'connect' | 'aborted' };

/**
 * Never rejects. On an error nothing has been written to the client: the caller answers. A 101
 * is relayed and both sockets are piped; any other answer is relayed and the connection closed.
 */
export function relayUpgrade(relay: UpgradeRelay): Promise<UpgradeResult> {
  return new Promise((resolve) => {
    const { socket, server, transport } = relay;
    const https = server.url.protocol === 'https:';
    const headers = headerObject(relay.headers);
    const hostname = server.url.hostname;
    const options = {
      host: hostname.startsWith('[') ? hostname.slice(1, -1) : hostname,
      port: server.url.port || (https ? 443 : 80),
      method: relay.method,
      path: relay.target,
      headers,
      setHost: headers['host'] === undefined,
      // The name undici's connections use, not node:https's pick from the Host header; never an IP as SNI.
      ...(https
        ? { ...transport.tls, ...serverNameOptions(serverNameFor(server.url, transport.tls.servername)) }
        : {}),
      // serversTransport.proxyProtocol: this tunnel's connection opens with the client's PROXY header
      // (node:http calls createConnection only when no agent is given, `agent: false` included).
      ...(transport.proxyProtocol !== undefined && socket instanceof Socket
        ? {
            createConnection: () =>
              proxiedSocket({
                host: hostname.startsWith('[') ? hostname.slice(1, -1) : hostname,
                port: Number(server.url.port) || (https ? 443 : 80),
                https,
                tls: transport.tls,
                version: transport.proxyProtocol ?? 2,
                ends: socketEnds(socket),
              }),
          }
        : { agent: false as const }),
    };
    let upstream: ClientRequest;
    try {
      upstream = https ? httpsRequest(options) : httpRequest(options);
    } catch {
      resolve({ kind: 'error', reason: 'connect' });
      return;
    }
    let settled = false;
    const settle = (result: UpgradeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('close', onClientClose);
      resolve(result);
    };
    // Until the server answers, the dial and response-header timeouts both bound the wait.
    const waitMs =
      transport.responseHeaderTimeoutMs > 0 ? transport.responseHeaderTimeoutMs : transport.dialTimeoutMs;
    const timer = setTimeout(() => {
      upstream.destroy();
      settle({ kind: 'error', reason: 'timeout' });
    }, waitMs);
    const onClientClose = (): void => {
      upstream.destroy();
      settle({ kind: 'error', reason: 'aborted' });
    };
    socket.once('close', onClientClose);

    upstream.once('upgrade', (res: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
      upSocket.on('error', noop);
      if (settled || socket.destroyed) {
        upSocket.destroy();
        return;
      }
      relay.onAnswer();
      socket.write(`${statusLine(res)}${rawHeaderLines(res.rawHeaders)}\r\n`);
      if (upHead.length > 0) socket.write(upHead);
      if (relay.head.length > 0) upSocket.write(relay.head);
      const tunnel = {
        destroy(): void {
          socket.destroy();
          upSocket.destroy();
        },
      };
      const bytes: TunnelBytes = { fromClient: relay.head.length, toClient: upHead.length };
      socket.on('data', (chunk: Buffer) => {
        bytes.fromClient += chunk.length;
      });
      upSocket.on('data', (chunk: Buffer) => {
        bytes.toClient += chunk.length;
      });
      socket.once('close', () => upSocket.destroy());
      upSocket.once('close', () => socket.destroy());
      socket.once('close', () => relay.onClose(bytes));
      relay.onOpen(tunnel);
      settle({ kind: 'upgraded' });
      socket.pipe(upSocket);
      upSocket.pipe(socket);
    });

    upstream.once('response', (res: IncomingMessage) => {
      // The server declined the upgrade: relay its answer, then close (the client must not
      // keep a connection that now bypasses routing).
      if (settled) {
        res.destroy();
        return;
      }
      relay.onAnswer();
      const out: OutgoingHttpHeaders = downstreamResponseHeaders(res.headers);
      let head = statusLine(res);
      for (const name in out) {
        const value = out[name];
        for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${String(v)}\r\n`;
      }
      head += 'connection: close\r\n\r\n';
      socket.write(head);
      res.pipe(socket);
      res.on('error', () => socket.destroy());
      settle({ kind: 'response', status: res.statusCode ?? 502 });
    });

    // `on`, not `once`: a second error after the answer must not go unhandled.
    upstream.on('error', () => settle({ kind: 'error', reason: 'connect' }));
    upstream.end();
  });
}

function noop(): void {}

function statusLine(res: IncomingMessage): string {
  return `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n`;
}

function rawHeaderLines(raw: readonly string[]): string {
  let out = '';
  for (let i = 0; i + 1 < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return out;
}

/** Repeated names become arrays, so nothing is lost on the way to node:http. */
function headerObject(flat: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    const prior = out[name];
    if (prior === undefined) out[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else out[name] = [prior, value];
  }
  return out;
}

/** Refuses a request on a raw socket, before any response object exists for it. */
export function writeBadRequest(socket: Duplex): void {
  writeRefusal(socket, 400, 'Bad Request');
}

/** The same for a request with more header lines than the entry point allows. */
export function writeHeadersTooLarge(socket: Duplex): void {
  writeRefusal(socket, 431, 'Request Header Fields Too Large');
}

function writeRefusal(socket: Duplex, status: number, reason: string): void {
  if (socket.destroyed) return;
  const text = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`,
  );
}
