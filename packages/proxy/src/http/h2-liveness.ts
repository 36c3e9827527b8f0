// HTTP/2 liveness: a connection with open streams whose client falls silent is PINGed, and closed when no answer comes.
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { H2KeepAlive } from './entry-point-settings.js';

/** What the watch reads of the connection: bytes received so far (the TLS socket's count). */
export interface BytesRead {
  readonly bytesRead: number;
}

/**
 * Watches one session, as Go's http2 ReadIdleTimeout/PingTimeout and Envoy's
 * connection_keepalive do. A lost client (cable pulled, lid closed, NAT entry dropped) sends no
 * FIN and no RST, and every write to it succeeds into the kernel's buffer, so without this its
 * streams and their upstream requests stay open until TCP gives up (~15 min).
 *
 * One timer at most, and none while the session has no open stream: an idle session is never
 * pinged, so PING answers never keep it alive past the entry point's idleTimeout (Node does not
 * count PINGs as activity either). The timer checks every `interval` whether a byte arrived since
 * the last check, so a PING follows between one and two intervals of silence. Settings are read
 * each time the timer is armed, so a new snapshot applies to open sessions too.
 */
export class H2Liveness {
  readonly #session: ServerHttp2Session;
  readonly #socket: BytesRead;
  readonly #settings: () => H2KeepAlive;
  readonly #onDead: () => void;
  #streams = 0;
  /** The one timer: the next check, or the wait for a PING's answer. */
  #timer: NodeJS.Timeout | undefined = undefined;
  /** `bytesRead` at the last check (or answer): more since means the client is there. */
  #seen = 0;
  /** The PING being waited for; an answer to an older one (given up on) is ignored. */
  #ping = 0;

  constructor(
    session: ServerHttp2Session,
    socket: BytesRead,
    settings: () => H2KeepAlive,
    onDead: () => void,
  ) {
    this.#session = session;
    this.#socket = socket;
    this.#settings = settings;
    this.#onDead = onDead;
    session.on('stream', (stream: ServerHttp2Stream) => this.#opened(stream));
    session.once('close', () => this.#stop());
  }

  #opened(stream: ServerHttp2Stream): void {
    if (this.#streams++ === 0) this.#check(this.#settings().intervalMs);
    stream.once('close', () => {
      if (--this.#streams === 0) this.#stop();
    });
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#ping++;
  }

  /** Arms the next check `intervalMs` from now, counting bytes from here. */
  #check(intervalMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (intervalMs <= 0 || this.#session.destroyed) return;
    this.#seen = this.#socket.bytesRead;
    this.#timer = setTimeout(() => this.#due(), intervalMs);
    this.#timer.unref();
  }

  #due(): void {
    this.#timer = undefined;
    const { intervalMs, timeoutMs } = this.#settings();
    if (intervalMs <= 0) return;
    if (this.#socket.bytesRead !== this.#seen) {
      this.#check(intervalMs);
      return;
    }
    const ping = ++this.#ping;
    const seen = this.#seen;
    try {
      this.#session.ping((err) => {
        if (err === null && ping === this.#ping && this.#streams > 0)
          this.#check(this.#settings().intervalMs);
      });
    } catch {
      return; // destroyed meanwhile: nothing left to watch
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#ping++;
      // Bytes but no answer yet (the answer queued behind an upload): the client is there.
      if (this.#socket.bytesRead !== seen) this.#check(intervalMs);
      else this.#onDead();
    }, timeoutMs);
    this.#timer.unref();
  }
}
