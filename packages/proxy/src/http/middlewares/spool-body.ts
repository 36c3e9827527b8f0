// Reads a request body up to a limit: in memory up to a threshold, the rest in a private temp file.
import { randomUUID } from 'node:crypto';
import type { WriteStream } from 'node:fs';
import { createReadStream, createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** A body read to its end, replayable once. */
export interface SpooledBody {
  size: number;
  /** The temp file holding the bytes beyond the memory threshold, if any. */
  path: string | undefined;
  open(): Readable;
  /** Removes the temp file; safe to call more than once. */
  dispose(): Promise<void>;
}

export type SpoolResult =
  | { kind: 'complete'; body: SpooledBody }
  | { kind: 'too-large' }
  | { kind: 'failed' }
  | { kind: 'aborted' };

export interface SpoolLimits {
  /** Most bytes accepted; one more and the result is `too-large`. */
  max: number;
  /** Bytes kept in memory; beyond them the body goes to disk. */
  mem: number;
  signal: AbortSignal;
  dir?: string;
}

/** Stops at the first byte beyond `max`, leaving the stream paused and the rest unread. */
export function spoolBody(stream: Readable, limits: SpoolLimits): Promise<SpoolResult> {
  return new Promise((resolve) => {
    if (limits.signal.aborted) {
      resolve({ kind: 'aborted' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let file: WriteStream | undefined;
    let path: string | undefined;
    let done = false;
    const removeFile = async (): Promise<void> => {
      const p = path;
      path = undefined;
      if (p !== undefined) await unlink(p).catch(() => {});
    };
    const finish = (result: SpoolResult | 'fail'): void => {
      if (done) return;
      done = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      limits.signal.removeEventListener('abort', onAbort);
      stream.pause();
      if (result === 'fail' || result.kind !== 'complete') {
        const outcome: SpoolResult = result === 'fail' ? { kind: 'failed' } : result;
        // The file opens asynchronously: unlink only once it is closed, or a late open would outlive
        // us; and answer only then, so no temp file is left once the caller hears the result.
        if (file && !file.closed) {
          file.once('close', () => void removeFile().then(() => resolve(outcome)));
          file.destroy();
        } else {
          void removeFile().then(() => resolve(outcome));
        }
        return;
      }
      resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > limits.max) {
        finish({ kind: 'too-large' });
        return;
      }
      if (!file && size <= limits.mem) {
        chunks.push(buf);
        return;
      }
      if (!file) {
        path = join(limits.dir ?? tmpdir(), `berth-body-${randomUUID()}`);
        // Owner-only and never an existing file: upload bytes are private.
        file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
        file.on('error', () => finish('fail'));
      }
      if (!file.write(buf)) {
        stream.pause();
        file.once('drain', () => {
          if (!done) stream.resume();
        });
      }
    };
    const onEnd = (): void => {
      if (!file) {
        finish({ kind: 'complete', body: memoryBody(chunks, size) });
        return;
      }
      const spoolPath = path;
      file.end(() => {
        if (done || spoolPath === undefined) return;
        finish({
          kind: 'complete',
          body: {
            size,
            path: spoolPath,
            open: () => Readable.from(replay(chunks, spoolPath), { objectMode: false }),
            dispose: removeFile,
          },
        });
      });
    };
    const onClose = (): void => {
      // A request whose client vanished closes without an end.
      if (!stream.readableEnded) finish('fail');
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onClose);
    // Stays attached: an error after we stop listening must not crash the process.
    stream.on('error', () => finish('fail'));
    limits.signal.addEventListener('abort', onAbort, { once: true });
  });
}

function memoryBody(chunks: Buffer[], size: number): SpooledBody {
  return {
    size,
    path: undefined,
    open: () => Readable.from(chunks, { objectMode: false }),
    dispose: async () => {},
  };
}

async function* replay(chunks: readonly Buffer[], path: string): AsyncGenerator<Buffer> {
  yield* chunks;
  for await (const chunk of createReadStream(path)) yield chunk as Buffer;
}
