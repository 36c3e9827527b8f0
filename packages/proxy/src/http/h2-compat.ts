// HTTP/2 requests and responses shaped like HTTP/1.1 ones for the shared pipeline: a Host header, no pseudo or connection-specific headers, resets that say so.
import type { IncomingHttpHeaders, OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import { constants, Http2ServerRequest, Http2ServerResponse } from 'node:http2';

/**
 * RFC 9113 §8.2.2: connection-specific fields are malformed in HTTP/2, and Node throws on them in
 * `writeHead`. The pipeline writes `connection: close` (and upstreams send `keep-alive`...), so
 * they are dropped here rather than at every call site. `te` stays only as `trailers`.
 */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/**
 * `host` from `:authority` (what Host matchers, X-Forwarded-Host and passHostHeader read), and
 * `rawHeaders` without pseudo-headers, which are not headers to forward.
 */
export class H2Request extends Http2ServerRequest {
  constructor(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    options: object,
    rawHeaders: string[],
  ) {
    super(stream, headers, options as never, rawHeaders);
    const authority = headers[':authority'];
    if (headers.host === undefined && typeof authority === 'string') headers.host = authority;
  }
}

// Node's types declare these as fields; at run time they are accessors of the prototype.
const rawHeadersOf = Object.getOwnPropertyDescriptor(Http2ServerRequest.prototype, 'rawHeaders')?.get;
Object.defineProperty(H2Request.prototype, 'rawHeaders', {
  configurable: true,
  get(this: H2Request): string[] {
    const raw = (rawHeadersOf?.call(this) ?? []) as string[];
    const out: string[] = [];
    let host = false;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.charCodeAt(0) === 0x3a) continue;
      if (name.length === 4 && name.toLowerCase() === 'host') host = true;
      out.push(name, raw[i + 1]!);
    }
    if (!host && this.headers.host !== undefined) out.push('host', String(this.headers.host));
    return out;
  },
});

type HeadArgs = [
  OutgoingHttpHeaders | OutgoingHttpHeader[] | string | undefined,
  (OutgoingHttpHeaders | OutgoingHttpHeader[])?,
];

export class H2Response extends Http2ServerResponse {
  override setHeader(name: string, value: number | string | readonly string[]): this {
    if (CONNECTION_SPECIFIC.has(name.toLowerCase())) return this;
    return super.setHeader(name, value) as unknown as this;
  }

  override writeHead(statusCode: number, ...args: HeadArgs): this {
    const [first, second] = args;
    const head = super.writeHead as (status: number, ...rest: unknown[]) => this;
    if (typeof first === 'string')
      return head.call(this, statusCode, first, withoutConnectionHeaders(second));
    return head.call(this, statusCode, withoutConnectionHeaders(first));
  }

  /**
   * A response cut short must not look complete: the stream is reset with INTERNAL_ERROR
   * (a bare destroy would send NO_ERROR).
   */
  override destroy(err?: Error): this {
    if (this.stream.destroyed) return this;
    if (this.writableFinished) return super.destroy(err) as unknown as this;
    this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return this;
  }
}

Object.defineProperties(H2Response.prototype, {
  /** ServerResponse has it, and the pipeline reads it before writing. */
  destroyed: {
    configurable: true,
    get(this: H2Response): boolean {
      return this.stream.destroyed;
    },
  },
  /**
   * Node reports a reset stream as finished (and emits 'finish' before 'close'): the pipeline
   * would take the client's RST_STREAM for a complete response and never abort the upstream.
   */
  writableFinished: {
    configurable: true,
    get(this: H2Response): boolean {
      const stream = this.stream;
      return (
        stream.writableFinished && !stream.aborted && (stream.rstCode ?? 0) === constants.NGHTTP2_NO_ERROR
      );
    },
  },
});

function withoutConnectionHeaders<T extends OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined>(
  headers: T,
): T {
  if (headers === undefined || Array.isArray(headers)) return headers;
  const record = headers as OutgoingHttpHeaders;
  let out: OutgoingHttpHeaders | undefined;
  for (const name in record) {
    const lower = name.toLowerCase();
    const drop =
      CONNECTION_SPECIFIC.has(lower) || (lower === 'te' && String(record[name]).toLowerCase() !== 'trailers');
    if (!drop) continue;
    out ??= { ...record };
    delete out[name];
  }
  return (out ?? headers) as T;
}
