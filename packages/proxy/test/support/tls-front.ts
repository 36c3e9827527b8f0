// A stand-in front door for TLS tests: per connection it peeks the ClientHello (SNI, ALPN), puts the bytes back and hands over.
import type { AddressInfo, Socket } from 'node:net';
import { createServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type {
  ClientHelloFacts,
  ConnectionFacts,
  HttpHandoff,
  TlsTerminator,
} from '../../src/edge/contract.js';

export interface TestFront {
  port: number;
  close(): Promise<void>;
}

export interface TestFrontOptions {
  terminator: TlsTerminator;
  purpose?: 'http' | 'tcp';
  /** HTTP hand-off; without it, `onSecure` gets the socket (or a default echo of "ok"). */
  handoff?: HttpHandoff;
  onSecure?: (socket: TLSSocket, facts: ConnectionFacts) => void;
}

/** Listens on 127.0.0.1:0. The real front door (PROXY protocol, plain/TLS detection) replaces this in production. */
export async function startTestFront(opts: TestFrontOptions): Promise<TestFront> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      // Wait for the whole first record (5-byte header + length), as a real peek would.
      if (buffered.length < 5 || buffered.length < 5 + buffered.readUInt16BE(3)) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(buffered);
      const facts: ConnectionFacts = {
        clientIp: socket.remoteAddress ?? '',
        clientPort: socket.remotePort ?? 0,
        localIp: socket.localAddress ?? '',
        localPort: socket.localPort ?? 0,
        viaProxyProtocol: false,
        hello: parseHello(buffered),
      };
      void opts.terminator.terminate(socket, facts, opts.purpose ?? 'http').then((tls) => {
        if (tls === null) return;
        sockets.add(tls as unknown as Socket);
        if (opts.handoff !== undefined) opts.handoff.serve(tls, facts);
        else if (opts.onSecure !== undefined) opts.onSecure(tls, facts);
        else tls.end('ok\n');
      });
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** SNI and ALPN of a ClientHello in one record; empty facts when it is not one. */
export function parseHello(record: Buffer): ClientHelloFacts {
  const facts: ClientHelloFacts = { serverName: '', alpn: [] };
  try {
    if (record[0] !== 0x16 || record[5] !== 0x01) return facts;
    let p = 5 + 4 + 2 + 32;
    p += 1 + record[p]!; // session id
    p += 2 + record.readUInt16BE(p); // cipher suites
    p += 1 + record[p]!; // compression
    const end = p + 2 + record.readUInt16BE(p);
    p += 2;
    while (p + 4 <= end) {
      const type = record.readUInt16BE(p);
      const len = record.readUInt16BE(p + 2);
      const body = record.subarray(p + 4, p + 4 + len);
      if (type === 0 && body.length > 5) {
        facts.serverName = body
          .subarray(5, 5 + body.readUInt16BE(3))
          .toString('latin1')
          .toLowerCase();
      } else if (type === 16) {
        for (let q = 2; q < body.length; q += 1 + body[q]!)
          facts.alpn.push(body.subarray(q + 1, q + 1 + body[q]!).toString('latin1'));
      }
      p += 4 + len;
    }
  } catch {
    // A truncated hello: what was read so far.
  }
  return facts;
}
