// Node's own HTTP/1.1 parser (llhttp, the one node:http uses), for the raw-socket fast path.
import { createRequire } from 'node:module';

/**
 * The native parser object: callbacks live in numbered slots, and the parser calls them with
 * itself as `this`. Parsers are not garbage-collected while open, so every one is closed or
 * returned to the free list (`releaseParser`).
 */
export interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Bytes parsed, or an Error (`code` `HPE_*`) when the input is not valid HTTP. */
  execute(data: Buffer): number | Error;
  /** End of input: completes a close-delimited body, or returns an Error for a cut message. */
  finish(): number | Error | undefined;
  close(): void;
  [slot: number]: unknown;
  /** What the callbacks serve (a connection); set by the owner. */
  owner: unknown;
}

interface ParserClass {
  new (): NativeParser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}

export interface Llhttp {
  Parser: ParserClass;
  /** Method names by the index `kOnHeadersComplete` reports. */
  methods: readonly string[];
}

function load(): Llhttp | undefined {
  try {
    const common = createRequire(import.meta.url)('_http_common') as {
      HTTPParser?: ParserClass;
      methods?: string[];
    };
    const Parser = common.HTTPParser;
    const methods = common.methods;
    if (typeof Parser !== 'function' || !Array.isArray(methods)) return undefined;
    // The callback slots and their arguments are what this module relies on: check them once.
    const parser = new Parser();
    parser.initialize(Parser.REQUEST, {}, 1024, 0);
    let seen = '';
    parser[Parser.kOnHeadersComplete] = (
      major: number,
      minor: number,
      headers: string[],
      method: number,
      url: string,
    ) => {
      seen = `${major}.${minor} ${methods[method]} ${url} ${headers.join(',')}`;
      return 0;
    };
    const parsed = parser.execute(Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\n\r\n'));
    parser.close();
    return parsed === 28 && seen === '1.1 GET /x Host,a' ? { Parser, methods } : undefined;
  } catch {
    return undefined;
  }
}

/** `undefined` when this Node does not expose its parser as expected: the fast path then stays off. */
export const llhttp: Llhttp | undefined = load();

const freeRequestParsers: NativeParser[] = [];
const FREE_LIST_MAX = 1000;

/** A request parser from the free list, or a new one; callbacks are the caller's to set. */
export function requestParser(maxHeaderSize: number): NativeParser {
  const Parser = llhttp!.Parser;
  const parser = freeRequestParsers.pop() ?? new Parser();
  parser.initialize(Parser.REQUEST, {}, maxHeaderSize, 0);
  return parser;
}

export function responseParser(maxHeaderSize: number): NativeParser {
  const Parser = llhttp!.Parser;
  const parser = new Parser();
  parser.initialize(Parser.RESPONSE, {}, maxHeaderSize, 0);
  return parser;
}

/**
 * Done with `parser`. Never closed from inside one of its own callbacks (the native object
 * would be deleted under its caller): request parsers go back to the free list, the rest are
 * closed on the next turn.
 */
export function releaseParser(parser: NativeParser, request: boolean): void {
  parser.owner = undefined;
  if (request && freeRequestParsers.length < FREE_LIST_MAX) {
    freeRequestParsers.push(parser);
    return;
  }
  setImmediate(closeParser, parser);
}

function closeParser(parser: NativeParser): void {
  parser.close();
}
