// Connections to HTTP servers that open with a PROXY protocol header carrying one client's address (serversTransport.proxyProtocol).
import type { IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { buildConnector } from 'undici';
import { connectionFacts } from '../edge/contract.js';
import { encodeProxyHeader, type ProxyAddress, unmapIPv4 } from '../tcp/proxy-protocol.js';
import { serverNameOptions } from '../tls/server-name.js';
import type { TlsSettings } from './servers-transport.js';

export interface ProxiedEnds {
  source: ProxyAddress;
  destination: ProxyAddress;
}

/** The client's addresses as the front door learnt them (a trusted PROXY header), else the TCP peer's. */
export function clientEnds(req: IncomingMessage): ProxiedEnds {
  return socketEnds(req.socket);
}

/** The same from the client's socket (raw or TLS). */
export function socketEnds(socket: Socket): ProxiedEnds {
  const facts = connectionFacts(socket);
  if (facts) {
    return {
      source: { ip: facts.clientIp, port: facts.clientPort },
      destination: { ip: facts.localIp, port: facts.localPort },
    };
  }
  return {
    source: { ip: unmapIPv4(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 },
    destination: { ip: unmapIPv4(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
  };
}

/**
 * Opens a socket to `host:port` whose first bytes are the PROXY header, then TLS when `https`
 * (the header belongs to the TCP connection, before the handshake). Returned at once: writes
 * queue until the connection is up.
 */
export function proxiedSocket(options: {
  host: string;
  port: number;
  https: boolean;
  tls: TlsSettings;
  servername?: string;
  version: 1 | 2;
  ends: ProxiedEnds;
}): Socket | TLSSocket {
  const raw = netConnect({ host: options.host, port: options.port });
  raw.write(encodeProxyHeader(options.version, options.ends.source, options.ends.destination));
  if (!options.https) return raw;
  const servername = options.servername ?? options.tls.servername;
  return tlsConnect({
    socket: raw,
    ...(servername !== undefined ? serverNameOptions(servername) : {}),
    ...(options.tls.ca ? { ca: options.tls.ca } : {}),
    ...(options.tls.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
    ...(options.tls.cert !== undefined ? { cert: options.tls.cert, key: options.tls.key } : {}),
    ...(options.tls.minVersion ? { minVersion: options.tls.minVersion } : {}),
    ...(options.tls.maxVersion ? { maxVersion: options.tls.maxVersion } : {}),
    ...(options.tls.ciphers ? { ciphers: options.tls.ciphers } : {}),
    ALPNProtocols: ['http/1.1'],
  });
}

/** An undici `connect` function making every connection of a pool a proxied one for the same client. */
export function proxiedConnector(
  version: 1 | 2,
  ends: ProxiedEnds,
  tls: TlsSettings,
  timeoutMs: number,
): buildConnector.connector {
  return (opts, callback) => {
    const https = opts.protocol === 'https:';
    const hostname = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
    const socket = proxiedSocket({
      host: hostname,
      port: Number(opts.port) || (https ? 443 : 80),
      https,
      tls,
      ...(opts.servername ? { servername: opts.servername } : {}),
      version,
      ends,
    });
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener('error', finish);
      if (err) {
        socket.destroy();
        callback(err, null);
      } else callback(null, socket);
    };
    const timer = setTimeout(() => finish(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    socket.once('error', finish);
    socket.once(https ? 'secureConnect' : 'connect', () => finish(null));
  };
}
