// The compressing streams compress can use on this Node: gzip and br always, zstd from Node 22.15/23.8.
import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';

type ZstdFactory = (options?: object) => Transform;

/** Feature-detected: absent on Node 20, whose type definitions do not know it either. */
const createZstd = (zlib as unknown as { createZstdCompress?: ZstdFactory }).createZstdCompress;

export const SUPPORTED_ENCODINGS: readonly string[] = createZstd ? ['zstd', 'br', 'gzip'] : ['br', 'gzip'];

export const KNOWN_ENCODINGS: readonly string[] = ['zstd', 'br', 'gzip'];

/** Quality 5 keeps brotli's CPU cost near gzip's default while still compressing better. */
const BROTLI_QUALITY = 5;

export interface Encoder {
  stream: Transform;
  /** Pushes out everything written so far, so a streaming response is not held inside the compressor. */
  flush(): void;
}

export function createEncoder(coding: string, sizeHint?: number): Encoder {
  if (coding === 'gzip') {
    const stream = zlib.createGzip();
    return { stream, flush: () => stream.flush(zlib.constants.Z_SYNC_FLUSH) };
  }
  if (coding === 'br') {
    const params: Record<number, number> = { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY };
    if (sizeHint !== undefined) params[zlib.constants.BROTLI_PARAM_SIZE_HINT] = sizeHint;
    const stream = zlib.createBrotliCompress({ params });
    return { stream, flush: () => stream.flush() };
  }
  if (coding === 'zstd' && createZstd) {
    const stream = createZstd() as Transform & { flush(): void };
    return { stream, flush: () => stream.flush() };
  }
  throw new Error(`unsupported encoding ${coding}`);
}
