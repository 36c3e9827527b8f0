// compress: gzip, br or zstd response bodies as Accept-Encoding allows, streaming with backpressure.
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { PassThrough, pipeline } from 'node:stream';
import type { Handler, MiddlewareFactory, RequestContext, ResponseBody } from '../context.js';
import { MiddlewareConfigError } from '../context.js';
import { negotiateEncoding } from './accept-encoding.js';
import { createEncoder, KNOWN_ENCODINGS, SUPPORTED_ENCODINGS } from './compress-encoders.js';
import { compressibleType, mediaType, type TypeFilter } from './content-type-filter.js';
import { contentLength, deleteHeader, headerValue, setHeader } from './response-headers.js';

const DEFAULT_MIN_BYTES = 1024;

export const compress: MiddlewareFactory<'compress'> = (config, build) => {
  const min = config.minResponseBodyBytes ?? DEFAULT_MIN_BYTES;
  if (!Number.isInteger(min) || min < 0)
    throw new MiddlewareConfigError(
      `middleware ${build.name}: compress.minResponseBodyBytes must be a whole number ≥ 0`,
    );
  const wanted = (config.encodings ?? KNOWN_ENCODINGS).map((e) => e.trim().toLowerCase());
  if (wanted.length === 0)
    throw new MiddlewareConfigError(
      `middleware ${build.name}: compress.encodings must list at least one encoding`,
    );
  const unknown = wanted.filter((e) => !KNOWN_ENCODINGS.includes(e));
  if (unknown.length > 0)
    throw new MiddlewareConfigError(
      `middleware ${build.name}: compress.encodings has unknown entries: ${unknown.join(', ')} (use zstd, br, gzip)`,
    );
  const defaultEncoding = config.defaultEncoding?.trim().toLowerCase();
  if (defaultEncoding !== undefined && !KNOWN_ENCODINGS.includes(defaultEncoding))
    throw new MiddlewareConfigError(
      `middleware ${build.name}: compress.defaultEncoding must be one of zstd, br, gzip`,
    );
  if (config.includedContentTypes?.length && config.excludedContentTypes?.length)
    throw new MiddlewareConfigError(
      `middleware ${build.name}: compress.includedContentTypes and excludedContentTypes are mutually exclusive`,
    );
  // zstd on a Node without it is skipped rather than refused: the same snapshot runs on every node.
  const preference = wanted.filter((e) => SUPPORTED_ENCODINGS.includes(e));
  const settings: CompressSettings = {
    min,
    preference,
    defaultEncoding:
      defaultEncoding !== undefined && preference.includes(defaultEncoding) ? defaultEncoding : undefined,
    filter: { included: config.includedContentTypes, excluded: config.excludedContentTypes },
  };
  // Traefik also looks at the request's Content-Type, so gRPC calls (and whatever else the user
  // excluded) are left alone in both directions.
  const requestExcluded = (config.excludedContentTypes ?? ['application/grpc']).map(mediaType);
  return (next: Handler) => (ctx: RequestContext) => {
    if (ctx.req.method === 'HEAD') return next(ctx);
    const requestType = ctx.req.headers['content-type'];
    if (requestType !== undefined && requestExcluded.includes(mediaType(requestType))) return next(ctx);
    const inner = ctx.respond;
    ctx.respond = (status, headers, body) => respondCompressed(ctx, settings, inner, status, headers, body);
    return next(ctx);
  };
};

interface CompressSettings {
  min: number;
  preference: readonly string[];
  defaultEncoding: string | undefined;
  filter: TypeFilter;
}

async function respondCompressed(
  ctx: RequestContext,
  settings: CompressSettings,
  inner: RequestContext['respond'],
  status: number,
  headers: OutgoingHttpHeaders,
  body: ResponseBody,
): Promise<void> {
  if (body === null || status < 200 || status === 204 || status === 206 || status === 304)
    return inner(status, headers, body);
  const encoding = headerValue(headers, 'content-encoding');
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity')
    return inner(status, headers, body);
  if (headerValue(headers, 'content-range') !== undefined) return inner(status, headers, body);
  if (!compressibleType(headerValue(headers, 'content-type'), settings.filter))
    return inner(status, headers, body);

  const out: OutgoingHttpHeaders = { ...headers };
  // The answer now depends on Accept-Encoding whether or not this client gets it compressed.
  addVary(out);
  const accept = ctx.req.headers['accept-encoding'];
  const coding = negotiateEncoding(
    Array.isArray(accept) ? accept.join(',') : accept,
    settings.preference,
    settings.defaultEncoding,
  );
  if (coding === null) return inner(status, out, body);

  let size = contentLength(headers);
  let source: Buffer | Readable;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    source = typeof body === 'string' ? Buffer.from(body) : body;
    size = source.length;
  } else {
    source = body;
  }
  if (size !== undefined && size < settings.min) return inner(status, out, source);

  if (size === undefined && !Buffer.isBuffer(source)) {
    // Length unknown: hold back up to `min` bytes to judge the size before deciding.
    const held = await holdBack(source, settings.min, ctx.signal);
    if (held.kind === 'aborted') {
      source.destroy();
      return;
    }
    if (held.kind === 'failed') return inner(status, out, source);
    if (held.kind === 'ended') {
      source = held.data;
      if (source.length < settings.min) {
        setHeader(out, 'content-length', source.length);
        return inner(status, out, source);
      }
    } else if (held.data.length > 0) {
      // Not unshift(): undici's response body loses unshifted bytes once it has ended. A fresh
      // stream that starts with what was held and continues with the rest is safe for any source.
      const upstream = source;
      const rest = new PassThrough();
      rest.write(held.data);
      upstream.on('error', (err) => rest.destroy(err));
      // pipe() does not pass a destroy upstream: a client that leaves must still close the source.
      rest.once('close', () => {
        if (!upstream.readableEnded) upstream.destroy();
      });
      upstream.pipe(rest);
      source = rest;
    }
  }

  deleteHeader(out, 'content-length');
  deleteHeader(out, 'accept-ranges');
  setHeader(out, 'content-encoding', coding);
  // The compressed bytes differ from the original representation: a strong ETag would lie.
  const etag = headerValue(out, 'etag');
  if (etag !== undefined && !etag.startsWith('W/')) setHeader(out, 'etag', `W/${etag}`);

  const encoder = createEncoder(coding, Buffer.isBuffer(source) ? source.length : size);
  if (Buffer.isBuffer(source)) {
    encoder.stream.end(source);
  } else {
    const input = source;
    // Flush once per event-loop turn that brought data, so a slow stream is never held inside zlib.
    let scheduled = false;
    input.on('data', () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        if (!encoder.stream.writableEnded && !encoder.stream.destroyed) encoder.flush();
      });
    });
    // On a failure pipeline destroys both, and the response is cut short: the honest signal.
    pipeline(input, encoder.stream, () => {});
  }
  return inner(status, out, encoder.stream);
}

function addVary(headers: OutgoingHttpHeaders): void {
  const vary = headerValue(headers, 'vary');
  if (vary === undefined) {
    headers['vary'] = 'Accept-Encoding';
    return;
  }
  const tokens = vary.split(',').map((t) => t.trim().toLowerCase());
  if (tokens.includes('accept-encoding') || tokens.includes('*')) return;
  setHeader(headers, 'vary', `${vary}, Accept-Encoding`);
}

type Held =
  | { kind: 'ended'; data: Buffer }
  | { kind: 'enough'; data: Buffer }
  | { kind: 'failed' }
  | { kind: 'aborted' };

/** Reads from `stream` until `limit` bytes, its end, an error or an abort; leaves it paused. */
function holdBack(stream: Readable, limit: number, signal: AbortSignal): Promise<Held> {
  if (limit === 0) return Promise.resolve({ kind: 'enough', data: Buffer.alloc(0) });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (held: Held): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      // The error listener stays: an error before the caller pipes the stream must not go unheard.
      signal.removeEventListener('abort', onAbort);
      stream.pause();
      resolve(held);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(buf);
      size += buf.length;
      if (size >= limit) finish({ kind: 'enough', data: Buffer.concat(chunks) });
    };
    const onEnd = (): void => finish({ kind: 'ended', data: Buffer.concat(chunks) });
    const onError = (): void => finish({ kind: 'failed' });
    const onAbort = (): void => finish({ kind: 'aborted' });
    if (signal.aborted) {
      resolve({ kind: 'aborted' });
      return;
    }
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
