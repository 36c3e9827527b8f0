// contentType: gives a response the upstream sent without Content-Type one sniffed from its first bytes, as Go does.
import type { OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Handler, MiddlewareFactory, RequestContext, ResponseBody } from '../context.js';
import { detectContentType } from './content-sniff.js';
import { headerValue, setHeader } from './response-headers.js';

/**
 * Traefik v3 turns Go's Content-Type detection off for every router (a response without the
 * header goes out without it: Berth never adds one either); this middleware turns it back on.
 * `autoDetect: false` (deprecated in Traefik) makes it do nothing. As Go's server: only when the
 * response has no Content-Type and no Content-Encoding, may have a body, and the body is not empty;
 * the first chunk decides (Go looks at the first write, at most 512 bytes).
 */
export const contentType: MiddlewareFactory<'contentType'> = (config, build) => {
  if (config.autoDetect !== undefined)
    build.logger.warn(
      'contentType.autoDetect is deprecated (as in Traefik): the middleware alone turns detection on',
    );
  if (config.autoDetect === false) return (next: Handler) => next;
  return (next: Handler) => (ctx: RequestContext) => {
    const inner = ctx.respond;
    ctx.respond = (status, headers, body) => respondSniffed(ctx, inner, status, headers, body);
    return next(ctx);
  };
};

function respondSniffed(
  ctx: RequestContext,
  inner: RequestContext['respond'],
  status: number,
  headers: OutgoingHttpHeaders,
  body: ResponseBody,
): Promise<void> {
  if (
    body === null ||
    ctx.req.method === 'HEAD' ||
    status < 200 ||
    status === 204 ||
    status === 304 ||
    headerValue(headers, 'content-type') !== undefined ||
    (headerValue(headers, 'content-encoding') ?? '') !== ''
  )
    return inner(status, headers, body);
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (bytes.length === 0) return inner(status, headers, body);
    const out = { ...headers };
    setHeader(out, 'content-type', detectContentType(bytes));
    return inner(status, out, body);
  }
  return firstChunk(body).then(({ chunk, rest }) => {
    if (chunk === null) return inner(status, headers, rest());
    const out = { ...headers };
    setHeader(out, 'content-type', detectContentType(chunk));
    return inner(status, out, rest());
  });
}

/**
 * Reads the first chunk, and a stream that yields it and then the rest (destroying it destroys the
 * source). A body that ends or fails first is replaced: its events have fired already.
 */
function firstChunk(body: Readable): Promise<{ chunk: Buffer | null; rest: () => ResponseBody }> {
  return new Promise((resolve) => {
    const detach = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      detach();
      body.pause();
      resolve({ chunk, rest: () => prepend(chunk, body) });
    };
    const onEnd = (): void => {
      detach();
      resolve({ chunk: null, rest: () => Buffer.alloc(0) });
    };
    const onError = (err: Error): void => {
      detach();
      // A failed body must still look failed to the writer: a stream that fails the same way,
      // made when the writer is about to listen to it.
      resolve({
        chunk: null,
        rest: () => {
          const failed = new Readable({ read() {} });
          failed.on('error', () => {});
          failed.destroy(err);
          return failed;
        },
      });
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
  });
}

function prepend(first: Buffer, rest: Readable): Readable {
  const out = Readable.from(
    (async function* () {
      yield first;
      for await (const chunk of rest) yield chunk as Buffer;
    })(),
    { objectMode: false },
  );
  out.once('close', () => {
    if (!rest.readableEnded) rest.destroy();
  });
  return out;
}
