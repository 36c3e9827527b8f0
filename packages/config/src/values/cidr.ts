// IPv4/IPv6 addresses and CIDR ranges, for ClientIP rules, ipAllowList and trusted proxies.
import { isIP } from 'node:net';

/** An address as 128 bits; IPv4 is kept IPv4-mapped (`::ffff:a.b.c.d`) so both families compare. */
function toBits(ip: string): bigint | null {
  let text = ip.trim();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const family = isIP(text);
  if (family === 4) return 0xffff00000000n | v4(text);
  if (family !== 6) return null;
  // Expand an embedded IPv4 tail (::ffff:1.2.3.4) into two hextets.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const n = v4(tail);
    text = `${text.slice(0, lastColon + 1)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const groups =
    rest === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  if (groups.length !== 8) return null;
  let bits = 0n;
  for (const g of groups) bits = (bits << 16n) | BigInt(Number.parseInt(g || '0', 16));
  return bits;
}

function v4(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

export interface Cidr {
  /** As written, for messages. */
  text: string;
  base: bigint;
  /** Prefix length in the 128-bit space. */
  bits: number;
}

/** Parses `10.0.0.0/8`, `2001:db8::/32`, or a single address (a /32 or /128). `null` when invalid. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(addr.trim());
  if (family === 0) return null;
  const base = toBits(addr);
  if (base === null) return null;
  const max = family === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    len = Number(p);
    if (len > max) return null;
  }
  const bits = family === 4 ? len + 96 : len;
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(128 - bits);
  return { text, base: base & mask, bits };
}

/** A set of ranges with a fast membership test. */
export class CidrSet {
  readonly #ranges: { base: bigint; mask: bigint }[];
  constructor(cidrs: readonly Cidr[]) {
    this.#ranges = cidrs.map((c) => ({
      base: c.base,
      mask: c.bits === 0 ? 0n : ((1n << BigInt(c.bits)) - 1n) << BigInt(128 - c.bits),
    }));
  }

  /** Parses every entry; the invalid ones are returned for reporting. */
  static parse(texts: readonly string[]): { set: CidrSet; invalid: string[] } {
    const ok: Cidr[] = [];
    const invalid: string[] = [];
    for (const t of texts) {
      const c = parseCidr(t);
      if (c) ok.push(c);
      else invalid.push(t);
    }
    return { set: new CidrSet(ok), invalid };
  }

  get size(): number {
    return this.#ranges.length;
  }

  /** True when `ip` (IPv4, IPv6 or IPv4-mapped IPv6) is in one of the ranges. */
  contains(ip: string): boolean {
    const bits = toBits(ip);
    if (bits === null) return false;
    for (const r of this.#ranges) if ((bits & r.mask) === r.base) return true;
    return false;
  }
}
