// TLS ClientHello peek: SNI and ALPN from the first handshake message, over any split into TCP segments and TLS records.

/** Default ceiling of the ClientHello handshake message (post-quantum key shares make them ~1.8 KiB today). */
export const CLIENT_HELLO_DEFAULT_MAX_BYTES = 16 * 1024;

export type ClientHelloParse =
  /** What arrived so far is a valid beginning: read more. */
  | { kind: 'more' }
  /** The first bytes are not a TLS handshake record. */
  | { kind: 'not-tls' }
  /** TLS, but broken or over the size limit: close the connection. */
  | { kind: 'malformed'; reason: string }
  | { kind: 'hello'; serverName: string; alpn: string[]; tlsVersion: number };

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const MAX_RECORD = 16384 + 2048;

/**
 * Parses the ClientHello at the start of `data` (everything received so far). Stateless: call
 * again with the concatenation while it answers `more`. The bytes are never consumed: whoever
 * terminates or forwards the connection gets all of them.
 */
export function parseClientHello(data: Buffer, maxBytes = CLIENT_HELLO_DEFAULT_MAX_BYTES): ClientHelloParse {
  if (data.length === 0) return { kind: 'more' };
  if (data[0] !== RECORD_HANDSHAKE) return { kind: 'not-tls' };
  if (data.length >= 2 && data[1] !== 0x03) return { kind: 'not-tls' };
  // Reassemble the handshake layer from as many records as it takes.
  const fragments: Buffer[] = [];
  let have = 0;
  let need = -1;
  let offset = 0;
  for (;;) {
    if (data.length < offset + 5) return more(data, offset, maxBytes);
    if (data[offset] !== RECORD_HANDSHAKE) {
      return { kind: 'malformed', reason: 'a record other than handshake interrupts the ClientHello' };
    }
    if (data[offset + 1] !== 0x03) return { kind: 'malformed', reason: 'record version is not TLS' };
    const recordLength = data.readUInt16BE(offset + 3);
    if (recordLength === 0) return { kind: 'malformed', reason: 'empty handshake record' };
    if (recordLength > MAX_RECORD) return { kind: 'malformed', reason: 'record longer than TLS allows' };
    const end = offset + 5 + recordLength;
    const fragment = data.subarray(offset + 5, Math.min(end, data.length));
    fragments.push(fragment);
    have += fragment.length;
    if (need < 0 && have >= 4) {
      const head = Buffer.concat(fragments).subarray(0, 4);
      if (head[0] !== HANDSHAKE_CLIENT_HELLO)
        return { kind: 'malformed', reason: 'first handshake message is not a ClientHello' };
      need = 4 + head.readUIntBE(1, 3);
      if (need > maxBytes)
        return { kind: 'malformed', reason: `ClientHello of ${need} bytes exceeds the limit of ${maxBytes}` };
    }
    if (need >= 0 && have >= need) {
      const message = Buffer.concat(fragments).subarray(4, need);
      return parseBody(message);
    }
    if (end > data.length) return { kind: 'more' };
    offset = end;
  }
}

function more(data: Buffer, offset: number, maxBytes: number): ClientHelloParse {
  // Records carry at most 5 bytes of overhead each; a peer trickling tiny records still hits a limit.
  if (offset > maxBytes * 2) return { kind: 'malformed', reason: 'ClientHello spread over too many records' };
  if (data.length > offset && data[offset] !== RECORD_HANDSHAKE) {
    return { kind: 'malformed', reason: 'a record other than handshake interrupts the ClientHello' };
  }
  return { kind: 'more' };
}

class Reader {
  offset = 0;
  constructor(readonly buf: Buffer) {}
  get left(): number {
    return this.buf.length - this.offset;
  }
  u8(): number {
    if (this.left < 1) throw new Truncated();
    return this.buf[this.offset++]!;
  }
  u16(): number {
    if (this.left < 2) throw new Truncated();
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  bytes(n: number): Buffer {
    if (this.left < n) throw new Truncated();
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
}

class Truncated extends Error {}

function parseBody(message: Buffer): ClientHelloParse {
  try {
    const r = new Reader(message);
    const tlsVersion = r.u16();
    r.bytes(32); // random
    const sessionId = r.u8();
    if (sessionId > 32) return { kind: 'malformed', reason: 'session id longer than 32 bytes' };
    r.bytes(sessionId);
    const suites = r.u16();
    if (suites === 0 || suites % 2 !== 0) return { kind: 'malformed', reason: 'bad cipher suite list' };
    r.bytes(suites);
    const compression = r.u8();
    if (compression === 0) return { kind: 'malformed', reason: 'empty compression method list' };
    r.bytes(compression);
    let serverName = '';
    let alpn: string[] = [];
    if (r.left === 0) return { kind: 'hello', serverName, alpn, tlsVersion };
    const extLength = r.u16();
    if (extLength !== r.left)
      return { kind: 'malformed', reason: 'extensions length does not match the message' };
    const seen = new Set<number>();
    while (r.left > 0) {
      const type = r.u16();
      const ext = new Reader(r.bytes(r.u16()));
      if (seen.has(type)) return { kind: 'malformed', reason: `extension ${type} repeated` };
      seen.add(type);
      if (type === EXT_SERVER_NAME) {
        const list = new Reader(ext.bytes(ext.u16()));
        while (list.left > 0) {
          const nameType = list.u8();
          const name = list.bytes(list.u16());
          if (nameType !== 0 || serverName !== '') continue;
          const text = name.toString('latin1');
          if (!/^[\x21-\x7e]+$/.test(text))
            return { kind: 'malformed', reason: 'server name has invalid characters' };
          serverName = text.toLowerCase().replace(/\.$/, '');
        }
      } else if (type === EXT_ALPN) {
        const list = new Reader(ext.bytes(ext.u16()));
        alpn = [];
        while (list.left > 0) {
          const len = list.u8();
          if (len === 0) return { kind: 'malformed', reason: 'empty ALPN protocol name' };
          alpn.push(list.bytes(len).toString('latin1'));
        }
      }
    }
    return { kind: 'hello', serverName, alpn, tlsVersion };
  } catch (err) {
    if (err instanceof Truncated) return { kind: 'malformed', reason: 'ClientHello truncated' };
    throw err;
  }
}
