// PROXY protocol v1 (text) and v2 (binary) headers: an incremental parser and byte-exact encoders (haproxy's proxy-protocol.txt).
import { isIPv4, isIPv6 } from 'node:net';

/** The 12-byte signature that opens every v2 header. */
export const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The spec's worst case: `PROXY TCP6` with two full IPv6 addresses and ports, CRLF included. */
export const PROXY_V1_MAX_LENGTH = 107;
/** Default ceiling for a v2 header (16 fixed bytes + addresses + TLVs); the format allows 16 + 65535. */
export const PROXY_V2_DEFAULT_MAX_LENGTH = 4096;

export interface ProxyAddress {
  ip: string;
  port: number;
}

export type ProxyFamily = 'tcp4' | 'tcp6' | 'udp4' | 'udp6' | 'unix-stream' | 'unix-dgram' | 'unspec';

export interface ProxyHeader {
  version: 1 | 2;
  /** `local`: the sender's own connection (a health check); its addresses must be ignored. */
  command: 'proxy' | 'local';
  family: ProxyFamily;
  /** Present for tcp4/tcp6/udp4/udp6 with the PROXY command. */
  source?: ProxyAddress;
  destination?: ProxyAddress;
  /** UNIX families: the socket paths. */
  sourcePath?: string;
  destinationPath?: string;
  /** Bytes of the header itself (what `rest` follows). */
  length: number;
}

export type ProxyParse =
  /** The bytes so far are a strict prefix of a header (or of its signature): read more. */
  | { kind: 'more' }
  /** The connection does not start with a PROXY header. */
  | { kind: 'none' }
  | { kind: 'header'; header: ProxyHeader; rest: Buffer }
  | { kind: 'error'; message: string };

export interface ProxyParseOptions {
  maxV2Length?: number;
}

/**
 * Parses a PROXY header at the start of `data` (everything received so far). Stateless: call it
 * again with the concatenation when it answers `more`; a header is small, re-parsing is cheap.
 */
export function parseProxyHeader(data: Buffer, options: ProxyParseOptions = {}): ProxyParse {
  if (data.length === 0) return { kind: 'more' };
  if (startsLike(data, PROXY_V2_SIGNATURE)) {
    if (data.length < PROXY_V2_SIGNATURE.length) return { kind: 'more' };
    return parseV2(data, options.maxV2Length ?? PROXY_V2_DEFAULT_MAX_LENGTH);
  }
  if (startsLike(data, V1_PREFIX)) {
    if (data.length < V1_PREFIX.length) return { kind: 'more' };
    return parseV1(data);
  }
  return { kind: 'none' };
}

/** True when `data` and `prefix` agree on their common length. */
function startsLike(data: Buffer, prefix: Buffer): boolean {
  const n = Math.min(data.length, prefix.length);
  return data.subarray(0, n).equals(prefix.subarray(0, n));
}

/** True when the connection's first bytes are (or may become) a PROXY header. */
export function looksLikeProxyHeader(data: Buffer): boolean {
  return data.length > 0 && (startsLike(data, PROXY_V2_SIGNATURE) || startsLike(data, V1_PREFIX));
}

function parseV1(data: Buffer): ProxyParse {
  const limit = Math.min(data.length, PROXY_V1_MAX_LENGTH);
  let end = -1;
  for (let i = V1_PREFIX.length; i < limit - 1; i++) {
    if (data[i] === 0x0d && data[i + 1] === 0x0a) {
      end = i;
      break;
    }
  }
  if (end < 0) {
    if (data.length >= PROXY_V1_MAX_LENGTH)
      return { kind: 'error', message: 'PROXY v1 header longer than 107 bytes' };
    // A lone CR or LF before the CRLF can never become valid.
    for (let i = V1_PREFIX.length; i < data.length; i++) {
      const b = data[i]!;
      if (b === 0x0a || (b === 0x0d && i + 1 < data.length)) {
        return { kind: 'error', message: 'PROXY v1 header has a stray CR or LF' };
      }
    }
    return { kind: 'more' };
  }
  const line = data.subarray(0, end).toString('latin1');
  const length = end + 2;
  const rest = data.subarray(length);
  const parts = line.split(' ');
  const proto = parts[1];
  if (proto === 'UNKNOWN') {
    // The receiver must ignore anything after UNKNOWN and use the real connection's addresses.
    return { kind: 'header', header: { version: 1, command: 'proxy', family: 'unspec', length }, rest };
  }
  if (proto !== 'TCP4' && proto !== 'TCP6') {
    return { kind: 'error', message: `PROXY v1 header has an unknown protocol '${printable(proto ?? '')}'` };
  }
  if (parts.length !== 6) return { kind: 'error', message: 'PROXY v1 header must have 6 fields' };
  const [, , srcIp, dstIp, srcPort, dstPort] = parts as [string, string, string, string, string, string];
  const isIp = proto === 'TCP4' ? isIPv4 : isIPv6;
  if (!isIp(srcIp) || !isIp(dstIp)) {
    return {
      kind: 'error',
      message: `PROXY v1 header has an address that is not ${proto === 'TCP4' ? 'IPv4' : 'IPv6'}`,
    };
  }
  const sp = v1Port(srcPort);
  const dp = v1Port(dstPort);
  if (sp === null || dp === null) return { kind: 'error', message: 'PROXY v1 header has an invalid port' };
  return {
    kind: 'header',
    header: {
      version: 1,
      command: 'proxy',
      family: proto === 'TCP4' ? 'tcp4' : 'tcp6',
      source: { ip: proto === 'TCP6' ? formatIPv6(ipv6Bytes(srcIp)!) : srcIp, port: sp },
      destination: { ip: proto === 'TCP6' ? formatIPv6(ipv6Bytes(dstIp)!) : dstIp, port: dp },
      length,
    },
    rest,
  };
}

function v1Port(text: string): number | null {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 32);
}

const FAMILIES: Record<number, { family: ProxyFamily; addressBytes: number }> = {
  0: { family: 'unspec', addressBytes: 0 },
  17: { family: 'tcp4', addressBytes: 12 },
  18: { family: 'udp4', addressBytes: 12 },
  33: { family: 'tcp6', addressBytes: 36 },
  34: { family: 'udp6', addressBytes: 36 },
  49: { family: 'unix-stream', addressBytes: 216 },
  50: { family: 'unix-dgram', addressBytes: 216 },
};

function parseV2(data: Buffer, maxLength: number): ProxyParse {
  if (data.length < 16) {
    // The version nibble is known from byte 13 on: reject early what can never be valid.
    if (data.length >= 13 && data[12]! >> 4 !== 2)
      return { kind: 'error', message: 'PROXY v2 header has a version other than 2' };
    return { kind: 'more' };
  }
  const verCmd = data[12]!;
  if (verCmd >> 4 !== 2) return { kind: 'error', message: 'PROXY v2 header has a version other than 2' };
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return { kind: 'error', message: `PROXY v2 header has an unknown command ${cmd}` };
  const fam = FAMILIES[data[13]!];
  if (fam === undefined)
    return { kind: 'error', message: `PROXY v2 header has an unknown family 0x${data[13]!.toString(16)}` };
  const bodyLength = data.readUInt16BE(14);
  const length = 16 + bodyLength;
  if (length > maxLength)
    return { kind: 'error', message: `PROXY v2 header of ${length} bytes exceeds the limit of ${maxLength}` };
  if (data.length < length) return { kind: 'more' };
  const rest = data.subarray(length);
  if (cmd === 0) {
    // LOCAL: the body (if any) is skipped and the connection's own addresses stand.
    return { kind: 'header', header: { version: 2, command: 'local', family: fam.family, length }, rest };
  }
  if (bodyLength < fam.addressBytes) {
    return { kind: 'error', message: `PROXY v2 header too short for its ${fam.family} addresses` };
  }
  const body = data.subarray(16, 16 + fam.addressBytes);
  const header: ProxyHeader = { version: 2, command: 'proxy', family: fam.family, length };
  // TLVs after the addresses (ALPN, authority, SSL, vendor-specific...) are skipped.
  switch (fam.family) {
    case 'tcp4':
    case 'udp4':
      header.source = { ip: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8) };
      header.destination = { ip: [...body.subarray(4, 8)].join('.'), port: body.readUInt16BE(10) };
      break;
    case 'tcp6':
    case 'udp6':
      header.source = { ip: formatIPv6(body.subarray(0, 16)), port: body.readUInt16BE(32) };
      header.destination = { ip: formatIPv6(body.subarray(16, 32)), port: body.readUInt16BE(34) };
      break;
    case 'unix-stream':
    case 'unix-dgram':
      header.sourcePath = cString(body.subarray(0, 108));
      header.destinationPath = cString(body.subarray(108, 216));
      break;
    case 'unspec':
      break;
  }
  return { kind: 'header', header, rest };
}

function cString(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return bytes.subarray(0, nul < 0 ? bytes.length : nul).toString('utf8');
}

// ---------------------------------------------------------------- addresses

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
export function unmapIPv4(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/** The 16 bytes of an IPv6 address (with `::` and an embedded IPv4 tail), or null. */
export function ipv6Bytes(ip: string): Buffer | null {
  if (!isIPv6(ip)) return null;
  const text = ip.replace(/%.*$/, '');
  let groups: string[];
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let head = text;
  if (v4) {
    for (const part of v4[1]!.split('.')) tail.push(Number(part));
    head = text.slice(0, text.length - v4[1]!.length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const want = v4 ? 6 : 8;
  const dbl = head.indexOf('::');
  if (dbl >= 0) {
    const left = head
      .slice(0, dbl)
      .split(':')
      .filter((g) => g !== '');
    const right = head
      .slice(dbl + 2)
      .split(':')
      .filter((g) => g !== '');
    groups = [...left, ...Array<string>(want - left.length - right.length).fill('0'), ...right];
  } else {
    groups = head === '' ? [] : head.split(':');
  }
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  for (const [i, b] of tail.entries()) out[12 + i] = b;
  return out;
}

/** RFC 5952 text of 16 bytes: lower-case, the longest run (≥ 2) of zero groups as `::`. */
export function formatIPv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

// ---------------------------------------------------------------- encoders

/** Both ends as one family: IPv4 when both are (or map to) IPv4, else IPv6 (v4 ends mapped). */
function sameFamily(
  source: ProxyAddress,
  destination: ProxyAddress,
): { v4: boolean; src: string; dst: string } | null {
  const src = unmapIPv4(source.ip);
  const dst = unmapIPv4(destination.ip);
  if (isIPv4(src) && isIPv4(dst)) return { v4: true, src, dst };
  const as6 = (ip: string) => (isIPv4(ip) ? `::ffff:${ip}` : isIPv6(ip) ? ip : null);
  const s6 = as6(src);
  const d6 = as6(dst);
  if (s6 === null || d6 === null) return null;
  return { v4: false, src: s6, dst: d6 };
}

/** `PROXY TCP4 <src> <dst> <sport> <dport>\r\n`; `PROXY UNKNOWN\r\n` when an address is not IP. */
export function encodeProxyV1(source: ProxyAddress, destination: ProxyAddress): Buffer {
  const fam = sameFamily(source, destination);
  if (fam === null) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const fmt = (ip: string) => (fam.v4 ? ip : formatIPv6(ipv6Bytes(ip)!));
  return Buffer.from(
    `PROXY ${fam.v4 ? 'TCP4' : 'TCP6'} ${fmt(fam.src)} ${fmt(fam.dst)} ${source.port} ${destination.port}\r\n`,
    'latin1',
  );
}

/** A v2 PROXY command over TCP; an UNSPEC family (addresses unknown) when an address is not IP. */
export function encodeProxyV2(source: ProxyAddress, destination: ProxyAddress): Buffer {
  const fam = sameFamily(source, destination);
  if (fam === null) return v2Frame(0x21, 0x00, Buffer.alloc(0));
  if (fam.v4) {
    const body = Buffer.alloc(12);
    Buffer.from(fam.src.split('.').map(Number)).copy(body, 0);
    Buffer.from(fam.dst.split('.').map(Number)).copy(body, 4);
    body.writeUInt16BE(source.port, 8);
    body.writeUInt16BE(destination.port, 10);
    return v2Frame(0x21, 0x11, body);
  }
  const body = Buffer.alloc(36);
  ipv6Bytes(fam.src)!.copy(body, 0);
  ipv6Bytes(fam.dst)!.copy(body, 16);
  body.writeUInt16BE(source.port, 32);
  body.writeUInt16BE(destination.port, 34);
  return v2Frame(0x21, 0x21, body);
}

/** A v2 LOCAL header (the sender's own connection, e.g. a health check). */
export function encodeProxyV2Local(): Buffer {
  return v2Frame(0x20, 0x00, Buffer.alloc(0));
}

function v2Frame(verCmd: number, family: number, body: Buffer): Buffer {
  const head = Buffer.alloc(16);
  PROXY_V2_SIGNATURE.copy(head, 0);
  head[12] = verCmd;
  head[13] = family;
  head.writeUInt16BE(body.length, 14);
  return Buffer.concat([head, body]);
}

export function encodeProxyHeader(version: 1 | 2, source: ProxyAddress, destination: ProxyAddress): Buffer {
  return version === 1 ? encodeProxyV1(source, destination) : encodeProxyV2(source, destination);
}
