// A mirroring service: the main service answers; chosen mirrors get a copy whose response is thrown away.
import type { IncomingHttpHeaders } from 'node:http';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { finished, Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Handler, RequestContext, Respond } from '../http/context.js';

export interface MirrorTarget {
  name: string;
  /** Share of requests copied to this mirror, 0..100. */
  percent: number;
  handler: Handler;
}

export interface MirroringOptions {
  service: string;
  main: Handler;
  mirrors: readonly MirrorTarget[];
  /** Copy the request body to mirrors (default true in the config). */
  mirrorBody: boolean;
  /** Largest body copied, bytes; a larger body is not mirrored at all. Negative: no limit. */
  maxBodySize: number;
  /** Uniform in [0, 1); injectable for tests. */
  random: () => number;
  logger: Logger;
}

/**
 * Bytes a mirror may lag behind the main request before it is dropped: the main request never
 * waits for a mirror, so a slow mirror could otherwise make the proxy hold a whole upload.
 */
export const MIRROR_LAG_LIMIT = 8 * 1024 * 1024;

const DROPPED = 'mirror body dropped (larger than maxBodySize, or the mirror fell behind)';

/** Copies whose response is read and discarded as fast as it comes. */
const discard: Respond = (_status, _headers, body) => {
  if (!(body instanceof Readable)) return Promise.resolve();
  return new Promise((resolve) => {
    finished(body, () => resolve());
    body.resume();
  });
};

export function mirroringHandler(opts: MirroringOptions): Handler {
  const { main, mirrors, random } = opts;
  const limit = opts.maxBodySize < 0 ? Number.POSITIVE_INFINITY : opts.maxBodySize;
  return async (ctx) => {
    let chosen: MirrorTarget[] | undefined;
    for (const mirror of mirrors) {
      if (mirror.percent >= 100 || (mirror.percent > 0 && random() * 100 < mirror.percent)) {
        if (chosen === undefined) chosen = [mirror];
        else chosen.push(mirror);
      }
    }
    if (chosen === undefined) return main(ctx);
    const stop = startMirrors(ctx, chosen, opts, limit);
    try {
      await main(ctx);
    } finally {
      stop();
    }
  };
}

/**
 * Starts one copy per chosen mirror, fed by a tap on the client's request body, and returns what
 * to call when the main exchange is over. Nothing here waits on a mirror or can throw into the
 * main request; a mirror that falls behind or a body too large for `limit` drops the copies.
 */
function startMirrors(
  ctx: RequestContext,
  chosen: readonly MirrorTarget[],
  opts: MirroringOptions,
  limit: number,
): () => void {
  const src = ctx.req;
  const hasBody = requestHasBody(src.headers);
  const withBody = hasBody && opts.mirrorBody;
  if (withBody) {
    const declared = Number(src.headers['content-length']);
    // Traefik does not mirror a request whose body is larger than maxBodySize.
    if (Number.isFinite(declared) && declared > limit) return () => {};
    // Bytes a middleware already read cannot be copied any more; a mirror gets all or nothing.
    if (src.readableDidRead || src.readableEnded || src.destroyed) {
      opts.logger.debug({ service: opts.service }, 'request body already read: not mirrored');
      return () => {};
    }
  }

  const copies: IncomingMessage[] = [];
  for (const mirror of chosen) {
    const copy = copyRequest(src, withBody);
    copies.push(copy);
    const mirrorCtx = mirrorContext(ctx, copy);
    // Dispatched after the main request has gone out: a mirror's own work never sits in front
    // of the main exchange. The copy queues body chunks until its forward reads them.
    setImmediate(() => {
      const failed = (err: unknown): void =>
        opts.logger.debug({ err, service: opts.service, mirror: mirror.name }, 'mirror failed');
      try {
        mirror.handler(mirrorCtx).catch(failed);
      } catch (err) {
        failed(err);
      }
    });
  }
  if (!withBody) return () => {};

  let copied = 0;
  let ended = false;
  const drop = (): void => {
    for (const copy of copies) if (!copy.complete) copy.destroy(new Error(DROPPED));
    detach();
  };
  const onData = (chunk: Buffer): void => {
    copied += chunk.length;
    if (copied > limit) {
      drop();
      return;
    }
    let live = 0;
    for (const copy of copies) {
      if (copy.destroyed) continue;
      if (copy.readableLength > MIRROR_LAG_LIMIT) copy.destroy(new Error(DROPPED));
      else {
        copy.push(chunk);
        live++;
      }
    }
    if (live === 0) detach();
  };
  const onEnd = (): void => {
    ended = true;
    for (const copy of copies) {
      if (copy.destroyed) continue;
      copy.complete = true;
      copy.push(null);
    }
    detach();
  };
  const onClose = (): void => {
    if (!ended) drop();
  };
  const detach = (): void => {
    src.off('data', onData);
    src.off('end', onEnd);
    src.off('close', onClose);
  };
  // Paused first, so the tap observes the body without starting its flow: the main forward
  // still reads it, with its own backpressure, and each chunk it reads is copied on the way.
  src.pause();
  src.on('data', onData);
  src.once('end', onEnd);
  src.once('close', onClose);
  return () => {
    // The main exchange is over; a body the main service never read will not reach the mirrors.
    if (!ended) drop();
  };
}

function requestHasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/** A request of its own for a mirror: same head, body pushed by the tap (or none). */
function copyRequest(src: IncomingMessage, withBody: boolean): IncomingMessage {
  const copy = new IncomingMessage(new Socket());
  // Dropping a copy destroys it with an error so its forward aborts; this listener keeps an
  // error nobody else listens to from reaching the process.
  copy.on('error', () => {});
  copy.method = src.method ?? 'GET';
  copy.url = src.url ?? '/';
  copy.httpVersionMajor = src.httpVersionMajor;
  copy.httpVersionMinor = src.httpVersionMinor;
  copy.httpVersion = src.httpVersion;
  if (withBody) {
    copy.headers = src.headers;
    copy.rawHeaders = src.rawHeaders;
  } else {
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(src.headers)) {
      if (name !== 'content-length' && name !== 'transfer-encoding') headers[name] = value;
    }
    const raw: string[] = [];
    for (let i = 0; i + 1 < src.rawHeaders.length; i += 2) {
      const name = src.rawHeaders[i]!.toLowerCase();
      if (name !== 'content-length' && name !== 'transfer-encoding')
        raw.push(src.rawHeaders[i]!, src.rawHeaders[i + 1]!);
    }
    copy.headers = headers;
    copy.rawHeaders = raw;
    copy.complete = true;
    copy.push(null);
  }
  return copy;
}

function mirrorContext(ctx: RequestContext, copy: IncomingMessage): RequestContext {
  return {
    req: copy,
    res: new ServerResponse(copy),
    view: { ...ctx.view },
    target: ctx.target,
    clientIp: ctx.clientIp,
    scheme: ctx.scheme,
    startedAt: process.hrtime.bigint(),
    log: {
      entryPoint: ctx.log.entryPoint,
      ...(ctx.log.router === undefined ? {} : { router: ctx.log.router }),
    },
    respond: discard,
    upstreamHeaders: { ...ctx.upstreamHeaders },
    // Independent of the client: the main request ending or aborting does not cancel a mirror.
    signal: new AbortController().signal,
  };
}
