// RESP2, the Redis wire protocol: commands out as arrays of bulk strings, replies in through an incremental parser. Pure.

/** A reply Redis sent as an error (`-ERR ...`, `-NOSCRIPT ...`): a value, not a thrown exception. */
export class RedisReplyError extends Error {
  /** The first word: `ERR`, `NOSCRIPT`, `WRONGPASS`, `MOVED`, ... */
  readonly kind: string;
  constructor(message: string) {
    super(message);
    this.kind = message.split(' ', 1)[0] ?? '';
  }
}

export type RespValue = string | number | null | RedisReplyError | RespValue[];

/** One command as Redis reads it: `*<n>\r\n` then each argument as `$<len>\r\n<bytes>\r\n`. */
export function encodeCommand(args: readonly (string | number | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg), 'utf8');
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

const CRLF = Buffer.from('\r\n');

/** Bulk strings longer than this are refused: no reply of this client's commands comes near it. */
const MAX_BULK = 64 * 1024 * 1024;
const MAX_ELEMENTS = 1024 * 1024;

/** The stream is not RESP (or not RESP2): the connection cannot be trusted any more. */
export class RespProtocolError extends Error {}

const INCOMPLETE = Symbol('incomplete');

/**
 * Feed it bytes as they arrive, take the complete replies out. A reply split across chunks waits
 * for its remainder; replies are tiny here, so the unread rest is simply kept and re-read.
 */
export class RespParser {
  #buf: Buffer = Buffer.alloc(0);

  /** The replies completed by `chunk`, in order. Throws `RespProtocolError` on bytes that are not RESP2. */
  push(chunk: Buffer): RespValue[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: RespValue[] = [];
    let offset = 0;
    for (;;) {
      const parsed = parseValue(this.#buf, offset);
      if (parsed === INCOMPLETE) break;
      out.push(parsed.value);
      offset = parsed.next;
    }
    this.#buf = offset === this.#buf.length ? Buffer.alloc(0) : this.#buf.subarray(offset);
    return out;
  }

  /** Bytes received and not yet a whole reply. */
  get pending(): number {
    return this.#buf.length;
  }
}

type Parsed = { value: RespValue; next: number } | typeof INCOMPLETE;

function parseValue(buf: Buffer, at: number): Parsed {
  if (at >= buf.length) return INCOMPLETE;
  const end = buf.indexOf(CRLF, at + 1);
  if (end < 0) {
    if (buf.length - at > 64 * 1024) throw new RespProtocolError('reply line too long');
    return INCOMPLETE;
  }
  const type = buf[at];
  const line = buf.toString('utf8', at + 1, end);
  const next = end + 2;
  switch (type) {
    case 0x2b: // '+'
      return { value: line, next };
    case 0x2d: // '-'
      return { value: new RedisReplyError(line), next };
    case 0x3a: // ':'
      return { value: integer(line), next };
    case 0x24: {
      // '$'
      const len = integer(line);
      if (len === -1) return { value: null, next };
      if (len < 0 || len > MAX_BULK) throw new RespProtocolError(`bad bulk length ${line}`);
      if (buf.length < next + len + 2) return INCOMPLETE;
      if (buf[next + len] !== 0x0d || buf[next + len + 1] !== 0x0a)
        throw new RespProtocolError('bulk string not followed by CRLF');
      return { value: buf.toString('utf8', next, next + len), next: next + len + 2 };
    }
    case 0x2a: {
      // '*'
      const count = integer(line);
      if (count === -1) return { value: null, next };
      if (count < 0 || count > MAX_ELEMENTS) throw new RespProtocolError(`bad array length ${line}`);
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseValue(buf, pos);
        if (item === INCOMPLETE) return INCOMPLETE;
        items.push(item.value);
        pos = item.next;
      }
      return { value: items, next: pos };
    }
    default:
      throw new RespProtocolError(`unexpected reply type byte 0x${(type ?? 0).toString(16)}`);
  }
}

function integer(line: string): number {
  if (!/^-?\d+$/.test(line)) throw new RespProtocolError(`not an integer: ${JSON.stringify(line)}`);
  return Number(line);
}
