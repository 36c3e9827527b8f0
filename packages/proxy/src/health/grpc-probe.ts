// One gRPC health probe (grpc.health.v1.Health/Check over HTTP/2): healthy when the answer is SERVING.
import { connect, constants } from 'node:http2';
import { isIP } from 'node:net';
import type { ActiveSettings } from './active-settings.js';
import type { ProbeResult } from './probe.js';

/** The HealthCheckResponse.ServingStatus names, by number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** An empty HealthCheckRequest (the whole server, as Traefik asks) in gRPC's length-prefixed framing. */
const EMPTY_REQUEST = Buffer.from([0, 0, 0, 0, 0]);

/**
 * The `status` of a length-prefixed HealthCheckResponse, or null when it is not one. Only field 1
 * (varint) matters; other fields are skipped as protobuf allows.
 */
export function readServingStatus(frame: Buffer): number | null {
  if (frame.length < 5 || frame[0] !== 0) return null;
  const length = frame.readUInt32BE(1);
  if (frame.length < 5 + length) return null;
  const message = frame.subarray(5, 5 + length);
  let status = 0;
  let at = 0;
  const varint = (): number | null => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = message[at++];
      if (byte === undefined) return null;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    return null;
  };
  while (at < message.length) {
    const key = varint();
    if (key === null) return null;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      const value = varint();
      if (value === null) return null;
      if (field === 1) status = value;
    } else if (wire === 2) {
      const size = varint();
      if (size === null || at + size > message.length) return null;
      at += size;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else return null;
  }
  return status;
}

/** Never rejects. The probe's URL gives scheme, host and port; `h2c` and `http` are plain text. */
export function grpcProbe(settings: ActiveSettings, stop: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const url = settings.url;
    const tls = url.protocol === 'https:';
    const authority = `${tls ? 'https' : 'http'}://${url.host}`;
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const session = connect(authority, {
      ...(tls
        ? {
            rejectUnauthorized: settings.tls?.rejectUnauthorized ?? true,
            ...(settings.tls?.ca ? { ca: settings.tls.ca } : {}),
            ...(settings.tls?.minVersion ? { minVersion: settings.tls.minVersion } : {}),
            ...(settings.tls?.maxVersion ? { maxVersion: settings.tls.maxVersion } : {}),
            ...(settings.tls?.ciphers ? { ciphers: settings.tls.ciphers } : {}),
            // Never an IP as SNI (tls/server-name.ts).
            servername: settings.tls?.servername ?? (isIP(host) === 0 ? host : ''),
          }
        : {}),
    });
    let settled = false;
    const timer = setTimeout(
      () => finish(false, `timeout after ${settings.timeoutMs}ms`),
      settings.timeoutMs,
    );
    const onStop = (): void => finish(false, 'stopped');
    stop.addEventListener('abort', onStop, { once: true });
    function finish(healthy: boolean, detail: string): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
      session.destroy();
      resolve({ healthy, detail });
    }
    session.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
    const headers: Record<string, string> = {
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: '/grpc.health.v1.Health/Check',
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
    };
    if (settings.headers['host']) headers[constants.HTTP2_HEADER_AUTHORITY] = settings.headers['host'];
    const stream = session.request(headers);
    stream.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let httpStatus = 0;
    stream.on('response', (head) => {
      httpStatus = Number(head[constants.HTTP2_HEADER_STATUS]);
      // A trailers-only answer (an error) carries grpc-status in the headers.
      const inHead = head['grpc-status'];
      if (typeof inHead === 'string') grpcStatus = inHead;
    });
    stream.on('trailers', (trailers) => {
      const value = trailers['grpc-status'];
      if (typeof value === 'string') grpcStatus = value;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      if (httpStatus !== 200) return finish(false, `status ${httpStatus}`);
      if (grpcStatus !== '0') {
        // 12: UNIMPLEMENTED, the server has no health service.
        return finish(false, `grpc-status ${grpcStatus ?? 'missing'}`);
      }
      const status = readServingStatus(Buffer.concat(chunks));
      if (status === null) return finish(false, 'malformed HealthCheckResponse');
      finish(status === 1, `gRPC ${SERVING_STATUS[status] ?? status}`);
    });
    stream.end(EMPTY_REQUEST);
  });
}
