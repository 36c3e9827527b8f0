// grpcWeb: gRPC-Web requests (browsers, HTTP/1.1 or HTTP/2) become gRPC for the server; the answer's trailers go into its body.
import type { OutgoingHttpHeaders } from 'node:http';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import type { Handler, MiddlewareFactory, RequestContext, ResponseBody } from '../context.js';
import { trailersOf } from '../upstream-trailers.js';
import { headerValue, setHeader } from './response-headers.js';

const GRPC_WEB = 'application/grpc-web';
const GRPC_WEB_TEXT = 'application/grpc-web-text';
const GRPC = 'application/grpc';
/** rs/cors's MaxAge as improbable-eng's wrapper sets it: preflights at most every 10 minutes. */
const PREFLIGHT_MAX_AGE = '600';

/**
 * As Traefik's middleware (improbable-eng's grpc-web wrapper, CORS by rs/cors, origins from
 * `allowOrigins`, `*` for any): a POST whose Content-Type starts with `application/grpc-web` is
 * sent to the server as gRPC (`application/grpc...`, `te: trailers`, no Content-Length); the
 * answer goes back as `application/grpc-web...` with the server's trailers as a last frame (flag
 * 0x80). `-text` (base64) both ways. An OPTIONS preflight asking for `x-grpc-web` is answered here;
 * every other request passes untouched. gRPC needs HTTP/2 to the server: `h2c://` or `https://` servers.
 */
export const grpcWeb: MiddlewareFactory<'grpcWeb'> = (config) => {
  const origins = config.allowOrigins ?? [];
  const allowed = (origin: string): boolean => origins.includes('*') || origins.includes(origin);
  return (next: Handler) => (ctx: RequestContext) => {
    const req = ctx.req;
    const type = req.headers['content-type'] ?? '';
    const asked = (req.headers['access-control-request-headers'] ?? '').toLowerCase();
    const cors = req.method === 'OPTIONS' && asked.includes('x-grpc-web');
    // rs/cors answers a preflight only when it names a method; without one it is sent on, as gRPC.
    if (cors && req.headers['access-control-request-method'] !== undefined) return preflight(ctx, allowed);
    if (cors || (req.method === 'POST' && type.startsWith(GRPC_WEB)))
      return translate(ctx, next, type, allowed);
    return next(ctx);
  };
};

/**
 * rs/cors's preflight (v1.7, Traefik's): 200, and the grant only for an allowed origin asking for
 * GET, POST or HEAD; every request header is allowed, named back in canonical case.
 */
async function preflight(ctx: RequestContext, allowed: (origin: string) => boolean): Promise<void> {
  const req = ctx.req;
  const headers: OutgoingHttpHeaders = {
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  };
  const origin = req.headers.origin;
  const method = (req.headers['access-control-request-method'] ?? '').toUpperCase();
  // rs/cors's default methods; the wrapper allows every request header.
  if (origin !== undefined && allowed(origin) && ['GET', 'POST', 'HEAD'].includes(method)) {
    headers['access-control-allow-origin'] = origin;
    headers['access-control-allow-methods'] = method;
    const asked = (req.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => canonical(h.trim()))
      .filter((h) => h !== '');
    if (asked.length > 0) headers['access-control-allow-headers'] = asked.join(', ');
    headers['access-control-allow-credentials'] = 'true';
    headers['access-control-max-age'] = PREFLIGHT_MAX_AGE;
  }
  req.resume();
  await ctx.respond(200, headers, null);
}

function translate(
  ctx: RequestContext,
  next: Handler,
  type: string,
  allowed: (origin: string) => boolean,
): Promise<void> {
  const text = type.startsWith(GRPC_WEB_TEXT);
  const webType = text ? GRPC_WEB_TEXT : GRPC_WEB;
  // An OPTIONS sent on (no Access-Control-Request-Method) keeps its own Content-Type, as in the wrapper.
  if (type.startsWith(GRPC_WEB)) ctx.upstreamHeaders['content-type'] = GRPC + type.slice(webType.length);
  // The client's length counts gRPC-Web (or base64) bytes, not what reaches the server.
  ctx.upstreamHeaders['content-length'] = undefined;
  ctx.upstreamHeaders['te'] = 'trailers';
  if (text) ctx.requestBody = ctx.req.pipe(new Base64Decode());
  const origin = ctx.req.headers.origin;
  const cors = origin !== undefined && allowed(origin) ? origin : undefined;
  const inner = ctx.respond;
  ctx.respond = (status, headers, body) =>
    inner(status, webHeaders(headers, webType, cors), webBody(body, text));
  return next(ctx);
}

/** The answer's head as the wrapper writes it: gRPC-Web type, every header exposed to scripts, CORS. */
export function webHeaders(
  upstream: OutgoingHttpHeaders,
  webType: string,
  origin: string | undefined,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...upstream };
  const type = headerValue(out, 'content-type');
  if (type?.startsWith(GRPC)) setHeader(out, 'content-type', webType + type.slice(GRPC.length));
  // The body gains a trailer frame (and base64 in text mode): the server's length no longer holds.
  setHeader(out, 'content-length', undefined);
  setHeader(out, 'trailer', undefined);
  // rs/cors varies on Origin whatever the origin, and grants only an allowed one.
  const vary = headerValue(out, 'vary');
  setHeader(out, 'vary', vary === undefined || vary === '' ? 'Origin' : `${vary}, Origin`);
  if (origin !== undefined) {
    out['access-control-allow-origin'] = origin;
    out['access-control-allow-credentials'] = 'true';
  }
  // The wrapper exposes every header the answer has (CORS ones included), in Go's canonical case.
  const exposed = [...new Set(Object.keys(out).map(canonical))];
  exposed.push('grpc-status', 'grpc-message');
  setHeader(out, 'access-control-expose-headers', exposed.join(', '));
  return out;
}

/**
 * The trailer frame: flag 0x80, length, then `name: value\r\n` lines, lower-case names sorted
 * (Go's Header.Write).
 */
export function trailerFrame(trailers: Readonly<Record<string, string>> | undefined): Buffer {
  let lines = '';
  const entries = Object.entries(trailers ?? {}).map(([name, value]) => [name.toLowerCase(), value] as const);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, value] of entries) lines += `${name}: ${value}\r\n`;
  const payload = Buffer.from(lines, 'latin1');
  const head = Buffer.alloc(5);
  head[0] = 0x80;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/**
 * The server's body then the trailer frame. A proxy-made answer (502, 504: a string or Buffer)
 * goes out as is: it is not gRPC, and the client reads its HTTP status.
 */
function webBody(body: ResponseBody, text: boolean): ResponseBody {
  if (body === null || typeof body === 'string' || Buffer.isBuffer(body)) return body;
  const framed = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      done(null, trailerFrame(trailersOf(body)));
    },
  });
  relay(body, framed);
  if (!text) return framed;
  const encoded = new Base64Encode();
  relay(framed, encoded);
  return encoded;
}

/** Pipes `from` into `to`; a failure or early close of `from` fails `to`, destroying `to` destroys `from`. */
function relay(from: Readable, to: Transform): void {
  from.pipe(to);
  from.once('error', (err) => to.destroy(err));
  from.once('close', () => {
    if (!from.readableEnded) to.destroy(new Error('response body cut'));
  });
  to.once('close', () => {
    if (!from.readableEnded) from.destroy();
  });
}

/** Base64 of a whole stream, whatever the chunk boundaries: 3-byte groups, padding only at the end. */
export class Base64Encode extends Transform {
  #rest: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const all = this.#rest.length === 0 ? chunk : Buffer.concat([this.#rest, chunk]);
    const whole = all.length - (all.length % 3);
    this.#rest = all.subarray(whole);
    done(null, whole === 0 ? undefined : all.subarray(0, whole).toString('base64'));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.#rest.length === 0 ? undefined : this.#rest.toString('base64'));
  }
}

/**
 * Decodes base64 whatever the chunk boundaries: 4-character groups; padding may end a group in
 * the middle of the stream (clients encode each message on its own), so each group decodes alone.
 */
export class Base64Decode extends Transform {
  #rest = '';

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const all = this.#rest + chunk.toString('latin1').replace(/\s+/g, '');
    const whole = all.length - (all.length % 4);
    this.#rest = all.slice(whole);
    if (whole === 0) {
      done();
      return;
    }
    if (!/^[A-Za-z0-9+/=]*$/.test(all.slice(0, whole))) {
      done(new Error('invalid base64 in a grpc-web-text request'));
      return;
    }
    done(null, decodeGroups(all.slice(0, whole)));
  }

  override _flush(done: TransformCallback): void {
    if (this.#rest !== '') done(new Error('truncated base64 in a grpc-web-text request'));
    else done();
  }
}

function decodeGroups(text: string): Buffer {
  // Fast path: padding only at the very end, one decode.
  const pad = text.indexOf('=');
  if (pad === -1 || pad >= text.length - 2) return Buffer.from(text, 'base64');
  const parts: Buffer[] = [];
  for (let i = 0; i < text.length; i += 4) parts.push(Buffer.from(text.slice(i, i + 4), 'base64'));
  return Buffer.concat(parts);
}

/** Go's http.CanonicalHeaderKey: `x-grpc-web` → `X-Grpc-Web`. */
export function canonical(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}
