// The join secret new nodes enroll with, and the one it replaced while its grace period lasts.
import { join } from 'node:path';
import { newSecret, readTextIfExists, secretsEqual, writeFileAtomic } from '@berth/protocol';

interface PreviousSecret {
  secret: string;
  /** ISO 8601: the old secret is refused from then on. */
  expiresAt: string;
}

export type SecretMatch = 'current' | 'previous' | null;

/** The secret in `path` (0600), created (256 random bits) when the file is missing or empty. */
export async function loadOrCreateSecret(path: string): Promise<string> {
  const existing = (await readTextIfExists(path))?.trim();
  if (existing) return existing;
  const secret = newSecret();
  await writeFileAtomic(path, `${secret}\n`, 0o600);
  return secret;
}

/**
 * `<data-dir>/join-secret` (the current secret) and `join-secret.previous.json` (the one before a
 * rotation, with the end of its grace period), both 0600. A restart keeps the grace period.
 */
export class JoinSecrets {
  readonly #dir: string;
  #current: string;
  #previous: PreviousSecret | null;

  private constructor(dir: string, current: string, previous: PreviousSecret | null) {
    this.#dir = dir;
    this.#current = current;
    this.#previous = previous;
  }

  static async open(dataDir: string): Promise<JoinSecrets> {
    const current = await loadOrCreateSecret(join(dataDir, 'join-secret'));
    let previous: PreviousSecret | null = null;
    const text = await readTextIfExists(join(dataDir, 'join-secret.previous.json'));
    if (text) {
      try {
        const parsed = JSON.parse(text) as PreviousSecret;
        if (typeof parsed.secret === 'string' && Date.parse(parsed.expiresAt) > Date.now()) previous = parsed;
      } catch {
        // An unreadable leftover grants nothing.
      }
    }
    return new JoinSecrets(dataDir, current, previous);
  }

  get current(): string {
    return this.#current;
  }

  /** When the previous secret stops working, or null when there is none (or its grace is over). */
  get previousExpiresAt(): string | null {
    return this.#previous && Date.parse(this.#previous.expiresAt) > Date.now()
      ? this.#previous.expiresAt
      : null;
  }

  /** Which secret `presented` is, compared in constant time; null for neither. */
  match(presented: string): SecretMatch {
    if (!presented) return null;
    const previous = this.#previous;
    const isPrevious =
      previous !== null &&
      Date.parse(previous.expiresAt) > Date.now() &&
      secretsEqual(presented, previous.secret);
    if (secretsEqual(presented, this.#current)) return 'current';
    return isPrevious ? 'previous' : null;
  }

  /** A new current secret; the old one keeps working `graceMs` (0: refused at once). */
  async rotate(graceMs: number): Promise<{ secret: string; previousExpiresAt: string | null }> {
    const old = this.#current;
    const next = newSecret();
    const previous =
      graceMs > 0 ? { secret: old, expiresAt: new Date(Date.now() + graceMs).toISOString() } : null;
    // The grace record first: a crash between the writes must not cut off the old secret early.
    await writeFileAtomic(
      join(this.#dir, 'join-secret.previous.json'),
      `${JSON.stringify(previous ?? { secret: '', expiresAt: new Date(0).toISOString() })}\n`,
      0o600,
    );
    await writeFileAtomic(join(this.#dir, 'join-secret'), `${next}\n`, 0o600);
    this.#current = next;
    this.#previous = previous;
    return { secret: next, previousExpiresAt: previous?.expiresAt ?? null };
  }
}
