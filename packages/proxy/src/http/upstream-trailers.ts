// A server's response trailers (gRPC's grpc-status, grpc-message): read from undici, carried on the body stream.
import type { Readable } from 'node:stream';

/** Fields a trailer section must not carry (hop-by-hop, framing); HTTP/2 forbids them. */
const HOP_BY_HOP_TRAILERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
]);

/**
 * undici gives HTTP/1.1 trailers as a flat raw list (Buffers at run time) and HTTP/2 trailers
 * as an object (Node's http2 headers); both become lower-case names to values, minus fields a
 * trailer must not carry. `undefined` when nothing is left.
 */
export function normalizeTrailers(raw: unknown): Record<string, string> | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  let out: Record<string, string> | undefined;
  const add = (name: string, value: unknown): void => {
    const lower = name.toLowerCase();
    if (lower.startsWith(':') || HOP_BY_HOP_TRAILERS.has(lower) || value === undefined) return;
    out ??= {};
    out[lower] = Array.isArray(value) ? value.map(text).join(', ') : text(value);
  };
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) add(text(raw[i]), raw[i + 1]);
  } else {
    for (const name of Object.keys(raw)) add(name, (raw as Record<string, unknown>)[name]);
  }
  return out;
}

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('latin1') : String(value);
}

/** A response body that knows its trailers once it has ended (the forwarder's stream path). */
export interface TrailerCarrier {
  trailers?: Record<string, string> | undefined;
}

/** The trailers a response body ended with, if the forwarder put any on it. */
export function trailersOf(body: Readable): Record<string, string> | undefined {
  return (body as Readable & TrailerCarrier).trailers;
}
