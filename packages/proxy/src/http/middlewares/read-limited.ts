// Reads a stream into memory up to a byte limit, for buffering. Never holds more than the limit.
import type { Readable } from 'node:stream';

export type ReadResult =
  | { kind: 'complete'; chunks: Buffer[]; size: number }
  | { kind: 'too-large' }
  | { kind: 'failed' }
  | { kind: 'aborted' };

/**
 * Stops at the first byte beyond `limit` and leaves the stream paused and unread from there;
 * the caller decides whether to destroy it.
 */
export function readLimited(stream: Readable, limit: number, signal: AbortSignal): Promise<ReadResult> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ kind: 'aborted' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: ReadResult): void => {
      if (done) return;
      done = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      stream.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > limit) {
        chunks.length = 0;
        finish({ kind: 'too-large' });
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => finish({ kind: 'complete', chunks, size });
    const onError = (): void => finish({ kind: 'failed' });
    // A request whose client vanished closes without an end.
    const onClose = (): void => finish({ kind: 'failed' });
    const onAbort = (): void => finish({ kind: 'aborted' });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onClose);
    // Stays attached: an error after we stop listening must not crash the process.
    stream.on('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
