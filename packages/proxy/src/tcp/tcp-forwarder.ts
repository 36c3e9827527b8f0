// TCP forwarding: dial a server (timeout, PROXY header, optional TLS), then splice both ways with backpressure and half-close.
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { Logger } from 'pino';
import type { ConnectionFacts } from '../edge/contract.js';
import { serverNameOptions } from '../tls/server-name.js';
import { encodeProxyHeader } from './proxy-protocol.js';
import type { TcpTarget } from './tcp-services.js';

export const TCP_DIAL_FAILED = 'BERTH_PROXY_TCP_DIAL';

export class TcpDialError extends Error {
  readonly code = TCP_DIAL_FAILED;
}

/** insecureSkipVerify is said loudly, but once per transport name per process. */
const warnedInsecure = new Set<string>();

/**
 * Connects to `target`: TCP with `dialTimeout`, then the PROXY header carrying the client's
 * addresses (before any TLS: the header belongs to the TCP connection), then TLS when the
 * server has `tls: true`. Rejects with a TcpDialError; never leaves a socket behind.
 */
export function dialTarget(
  target: TcpTarget,
  facts: ConnectionFacts,
  logger: Logger,
): Promise<Socket | TLSSocket> {
  const transport = target.transport;
  return new Promise((resolve, reject) => {
    const raw = netConnect({ host: target.host, port: target.port, allowHalfOpen: true });
    let settled = false;
    let current: Socket | TLSSocket = raw;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      current.destroy();
      raw.destroy();
      reject(new TcpDialError(`${target.service}: ${target.address}: ${message}`));
    };
    const timer = setTimeout(
      () => fail(`no connection within ${transport.dialTimeoutMs} ms`),
      transport.dialTimeoutMs,
    );
    timer.unref();
    raw.once('error', (err) => fail(err.message));
    raw.once('connect', () => {
      if (transport.proxyProtocol !== undefined) {
        raw.write(
          encodeProxyHeader(
            transport.proxyProtocol,
            { ip: facts.clientIp, port: facts.clientPort },
            { ip: facts.localIp, port: facts.localPort },
          ),
        );
      }
      if (!target.tls) {
        settled = true;
        clearTimeout(timer);
        raw.removeAllListeners('error');
        resolve(raw);
        return;
      }
      const tls = transport.tls ?? {};
      if (tls.insecureSkipVerify && !warnedInsecure.has(transport.name)) {
        warnedInsecure.add(transport.name);
        logger.warn(
          { serversTransport: transport.name, service: target.service },
          'tcp serversTransport has insecureSkipVerify: server certificates are NOT verified',
        );
      }
      const cert = tls.certificates?.[0];
      const secure = tlsConnect({
        socket: raw,
        // SNI for a name; for an IP (given, or the target's) none, and the certificate must name it.
        ...serverNameOptions(tls.serverName ?? target.host),
        ...(tls.rootCAs?.length ? { ca: tls.rootCAs } : {}),
        ...(cert ? { cert: cert.certFile, key: cert.keyFile } : {}),
        rejectUnauthorized: tls.insecureSkipVerify !== true,
      });
      current = secure;
      secure.once('error', (err) => fail(`TLS: ${err.message}`));
      secure.once('secureConnect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        raw.removeAllListeners('error');
        secure.removeAllListeners('error');
        resolve(secure);
      });
    });
  });
}

export interface SpliceOptions {
  /** After one side half-closes, the other way gets this long; negative: no limit. */
  terminationDelayMs: number;
  /** No byte either way for this long closes both; 0: never. */
  idleTimeoutMs: number;
}

/**
 * Pipes `client` and `server` both ways. Backpressure comes from `pipe`. A FIN from one side is
 * passed on as a FIN (both sockets are half-open capable), the other way stays open until it
 * ends too or `terminationDelayMs` passes. An error or a close on either side destroys both.
 * `done` runs once, when both are gone.
 */
export function splice(
  client: Duplex,
  server: Duplex,
  options: SpliceOptions,
  done: () => void,
): { destroy(): void } {
  let finished = false;
  let halfTimer: NodeJS.Timeout | undefined;
  const cut = () => {
    client.destroy();
    server.destroy();
  };
  let closed = 0;
  const onClose = () => {
    closed++;
    cut();
    if (closed === 2 && !finished) {
      finished = true;
      if (halfTimer) clearTimeout(halfTimer);
      done();
    }
  };
  const onEnd = () => {
    if (halfTimer !== undefined || options.terminationDelayMs < 0) return;
    halfTimer = setTimeout(cut, options.terminationDelayMs);
    halfTimer.unref();
  };
  client.on('error', cut);
  server.on('error', cut);
  client.once('end', onEnd);
  server.once('end', onEnd);
  client.once('close', onClose);
  server.once('close', onClose);
  if (options.idleTimeoutMs > 0) {
    // The client socket sees bytes both ways (it reads one direction and writes the other).
    const timed = client as Duplex & { setTimeout?: (ms: number, cb?: () => void) => void };
    timed.setTimeout?.(options.idleTimeoutMs);
    client.on('timeout', cut);
  }
  client.pipe(server);
  server.pipe(client);
  return { destroy: cut };
}
