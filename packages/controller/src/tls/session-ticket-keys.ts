// Session ticket keys shared by every node, so a client resumes on any of them: persisted, rotated on a timer.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readTextIfExists, writeFileAtomic } from '@berth/protocol';

/** Node's ticket keys are 48 bytes (name, HMAC secret, AES key). */
export const TICKET_KEY_BYTES = 48;

export interface TicketKeyState {
  /** Base64, the current key first, then the previous one (still decrypts tickets it issued). */
  keys: string[];
  /** ISO 8601: when the current key was made. */
  rotatedAt: string;
}

export function newTicketKey(): string {
  return randomBytes(TICKET_KEY_BYTES).toString('base64');
}

/**
 * The state at `now`: unchanged while the current key is younger than `rotationMs`, else a new key
 * first and the old current one second. Pure apart from the random key.
 */
export function rotateIfDue(
  state: TicketKeyState | null,
  now: Date,
  rotationMs: number,
): { state: TicketKeyState; rotated: boolean } {
  if (state !== null && state.keys.length > 0) {
    const age = now.getTime() - new Date(state.rotatedAt).getTime();
    if (age >= 0 && age < rotationMs) return { state, rotated: false };
  }
  const previous = state?.keys[0];
  return {
    state: {
      keys: previous === undefined ? [newTicketKey()] : [newTicketKey(), previous],
      rotatedAt: now.toISOString(),
    },
    rotated: true,
  };
}

/** When the next rotation is due, in milliseconds from `now` (0 when overdue). */
export function msUntilRotation(state: TicketKeyState, now: Date, rotationMs: number): number {
  return Math.max(0, new Date(state.rotatedAt).getTime() + rotationMs - now.getTime());
}

function parseState(text: string | null): TicketKeyState | null {
  if (text === null) return null;
  try {
    const raw = JSON.parse(text) as Partial<TicketKeyState>;
    const keys = Array.isArray(raw.keys)
      ? raw.keys.filter(
          (k): k is string => typeof k === 'string' && Buffer.from(k, 'base64').length === TICKET_KEY_BYTES,
        )
      : [];
    if (keys.length === 0 || typeof raw.rotatedAt !== 'string' || Number.isNaN(Date.parse(raw.rotatedAt)))
      return null;
    return { keys: keys.slice(0, 2), rotatedAt: raw.rotatedAt };
  } catch {
    return null;
  }
}

export interface TicketKeyRingOptions {
  dataDir: string;
  rotationMs: number;
  /** Called after a timed rotation was persisted; the controller recompiles and publishes. */
  onRotate: () => void;
  /** Called when persisting a rotation fails; the previous keys stay in use. */
  onError: (err: Error) => void;
}

/** Loads the keys at start (rotating if overdue), then rotates every `rotationMs`. */
export class TicketKeyRing {
  private state: TicketKeyState | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly path: string;

  constructor(private readonly opts: TicketKeyRingOptions) {
    this.path = join(opts.dataDir, 'tls', 'session-ticket-keys.json');
  }

  async start(): Promise<void> {
    const loaded = parseState(await readTextIfExists(this.path));
    const { state, rotated } = rotateIfDue(loaded, new Date(), this.opts.rotationMs);
    // Unsaved keys still work for this run; nodes only lose resumption across a controller restart.
    if (rotated) await this.save(state).catch((err: Error) => this.opts.onError(err));
    this.state = state;
    this.schedule();
  }

  /** The keys to publish, current first. */
  keys(): string[] {
    return this.state === null ? [] : [...this.state.keys];
  }

  /** Changes the rotation interval (the static configuration changed). */
  setRotation(rotationMs: number): void {
    if (rotationMs === this.opts.rotationMs) return;
    this.opts.rotationMs = rotationMs;
    this.schedule();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.state === null) return;
    // setTimeout holds at most 2^31-1 ms; longer intervals just check again.
    const wait = Math.min(msUntilRotation(this.state, new Date(), this.opts.rotationMs), 2 ** 31 - 1);
    this.timer = setTimeout(() => void this.tick(), wait);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const { state, rotated } = rotateIfDue(this.state, new Date(), this.opts.rotationMs);
    if (rotated) {
      try {
        await this.save(state);
        this.state = state;
        this.opts.onRotate();
      } catch (err) {
        this.opts.onError(err as Error);
        // Keep the current keys and try again in a minute, not in a tight loop.
        this.timer = setTimeout(() => void this.tick(), 60_000);
        this.timer.unref();
        return;
      }
    }
    this.schedule();
  }

  private async save(state: TicketKeyState): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(state)}\n`, 0o600);
  }
}
