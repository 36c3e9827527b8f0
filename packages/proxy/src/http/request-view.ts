// Turns an incoming request line and headers into the RequestView rules match against.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestView } from '@berth/config';

export interface ParsedRequest {
  view: RequestView;
  /** Origin-form request target (`/path?query`) to send upstream. */
  target: string;
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is reported as `10.0.0.1`. */
export function clientAddress(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return '';
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.')
    ? remoteAddress.slice(7)
    : remoteAddress;
}

/** Lower-case host without port; an IPv6 literal loses its brackets, as Go's SplitHostPort does. */
export function hostOf(authority: string | undefined): string {
  if (authority === undefined) return '';
  const lower = authority.trim().toLowerCase();
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']');
    return end < 0 ? lower : lower.slice(1, end);
  }
  const colon = lower.indexOf(':');
  return colon < 0 ? lower : lower.slice(0, colon);
}

export function parseRequest(req: IncomingMessage): ParsedRequest {
  const url = req.url ?? '/';
  let authority = req.headers.host;
  let target = url;
  if (!url.startsWith('/')) {
    if (url === '*') {
      target = '*';
    } else {
      // Absolute-form (RFC 9112 §3.2.2): the authority in the target wins over the Host header.
      try {
        const absolute = new URL(url);
        authority = absolute.host;
        target = `${absolute.pathname}${absolute.search}`;
      } catch {
        target = `/${url}`;
      }
    }
  }
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return {
    view: {
      host: hostOf(authority),
      path: path.startsWith('/') ? path : '/',
      method: req.method ?? 'GET',
      headers: req.headers,
      query: q < 0 ? '' : target.slice(q + 1),
      clientIp: clientAddress(req.socket.remoteAddress),
    },
    target,
  };
}

const kPeer = Symbol('berth.peer');
type TaggedSocket = Socket & { [kPeer]?: string };

/** The client's address for `socket`, as the front door learnt it (PROXY protocol) or its peer's. */
export function setPeer(socket: Socket, address: string): void {
  (socket as TaggedSocket)[kPeer] = address;
}

/** The connection's client address, read once per connection. */
export function peerOf(socket: Socket): string {
  const tagged = socket as TaggedSocket;
  let peer = tagged[kPeer];
  if (peer === undefined) {
    peer = clientAddress(socket.remoteAddress);
    tagged[kPeer] = peer;
  }
  return peer;
}
