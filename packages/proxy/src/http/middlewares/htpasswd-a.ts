// htpasswd entries for basicAuth: parsing, and password checks for bcrypt, apr1/MD5-crypt and {SHA}.
import { createHash, timingSafeEqual } from 'node:crypto';

export type HashKind = 'bcrypt' | 'md5crypt' | 'sha1';

export interface HtpasswdEntry {
  user: string;
  hash: string;
  kind: HashKind;
  /** bcrypt's cost factor; 0 for the cheap kinds. Picks the decoy for unknown users. */
  cost: number;
}

const BCRYPT = /^\$2[abxy]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const MD5CRYPT = /^\$(apr1|1)\$([^$]{0,8})\$([./A-Za-z0-9]{22})$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;

/** Parses one `user:hash` line; throws with a message naming the problem (never the hash). */
export function parseHtpasswdLine(line: string): HtpasswdEntry {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new Error('expected "user:hash"');
  const user = line.slice(0, colon);
  const hash = line.slice(colon + 1).trim();
  const b = BCRYPT.exec(hash);
  if (b) return { user, hash, kind: 'bcrypt', cost: Number(b[1]) };
  if (MD5CRYPT.test(hash)) return { user, hash, kind: 'md5crypt', cost: 0 };
  if (SHA1.test(hash)) return { user, hash, kind: 'sha1', cost: 0 };
  throw new Error(`unsupported password hash for user ${JSON.stringify(user)} (use bcrypt, apr1 or {SHA})`);
}

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function to64(value: number, count: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < count; i++) {
    out += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

function md5(...parts: Buffer[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * Poul-Henning Kamp's MD5-crypt, with Apache's `$apr1$` magic or the original `$1$`: 1000 rounds
 * of MD5 over password, salt and the previous digest, then a custom base-64 encoding.
 */
export function md5Crypt(password: Buffer, salt: string, magic: '$apr1$' | '$1$' = '$apr1$'): string {
  const s = Buffer.from(salt.split('$')[0]?.slice(0, 8) ?? '');
  const pw = password;
  const alternate = md5(pw, s, pw);
  const ctx = createHash('md5');
  ctx.update(pw);
  ctx.update(magic);
  ctx.update(s);
  for (let left = pw.length; left > 0; left -= 16) ctx.update(alternate.subarray(0, Math.min(16, left)));
  for (let i = pw.length; i > 0; i >>= 1) ctx.update(i & 1 ? Buffer.of(0) : pw.subarray(0, 1));
  let final: Buffer = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const parts: Buffer[] = [i & 1 ? pw : final];
    if (i % 3) parts.push(s);
    if (i % 7) parts.push(pw);
    parts.push(i & 1 ? final : pw);
    final = md5(...parts);
  }
  const f = (i: number): number => final[i] ?? 0;
  const encoded =
    to64((f(0) << 16) | (f(6) << 8) | f(12), 4) +
    to64((f(1) << 16) | (f(7) << 8) | f(13), 4) +
    to64((f(2) << 16) | (f(8) << 8) | f(14), 4) +
    to64((f(3) << 16) | (f(9) << 8) | f(15), 4) +
    to64((f(4) << 16) | (f(10) << 8) | f(5), 4) +
    to64(f(11), 2);
  return `${magic}${s.toString()}$${encoded}`;
}

/** Compares two strings in time that depends only on their lengths, via fixed-size digests. */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

let bcrypt: typeof import('bcryptjs').default | undefined;

/** Whether `password` matches the entry's hash. bcrypt runs off the event loop's critical path in chunks. */
export async function checkPassword(entry: HtpasswdEntry, password: Buffer): Promise<boolean> {
  switch (entry.kind) {
    case 'bcrypt':
      // bcrypt reads only 72 bytes; Go's bcrypt refuses longer passwords rather than ignore their tail.
      if (password.length > 72) return false;
      // bcryptjs knows $2a$, $2b$ and $2y$; $2x$ is the same computation for 7-bit passwords, as Go's goauth treats it.
      // Loaded on the first bcrypt check: a node that never meets one never pays for it at start.
      bcrypt ??= (await import('bcryptjs')).default;
      return bcrypt.compare(password.toString('utf8'), entry.hash.replace(/^\$2x\$/, '$2a$'));
    case 'md5crypt': {
      const m = MD5CRYPT.exec(entry.hash);
      const magic = m?.[1] === '1' ? '$1$' : '$apr1$';
      return constantTimeEqual(md5Crypt(password, m?.[2] ?? '', magic), entry.hash);
    }
    case 'sha1': {
      const digest = createHash('sha1').update(password).digest('base64');
      return constantTimeEqual(`{SHA}${digest}`, entry.hash);
    }
  }
}
