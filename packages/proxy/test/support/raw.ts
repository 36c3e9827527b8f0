// Raw TCP exchanges for probes a well-behaved HTTP client refuses to send.
import { connect } from 'node:net';

export interface RawReply {
  /** Everything the proxy sent back. */
  text: string;
  /** The proxy closed the connection (rather than the wait running out). */
  closed: boolean;
}

/** Writes `bytes`, then collects the answer until the peer closes or `waitMs` passes. */
export function sendRaw(port: number, bytes: string | Buffer, waitMs = 1_000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, waitMs);
    socket.on('connect', () => socket.write(bytes));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset after the answer is a close like any other.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The status code of the first response in `text`, or 0. */
export function statusOf(text: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : 0;
}
