// Reads an object's fields the way Traefik does: keys match case-insensitively, extras are reported.
import { ConfigErrorCodes } from '../errors.js';
import type { Problems, Trail } from './report.js';

export interface FieldTable<K extends string> {
  /** Who owns the fields, for messages: `router 'web'`, `the http section`. */
  subject: string;
  /** Canonical spellings; these are the keys of the result. */
  supported: readonly K[];
  /** Traefik fields Berth does not implement yet: reported as unsupported rather than as typos. */
  unsupported?: readonly string[];
  /** Fields Traefik itself accepts and ignores: a warning naming the field, nothing dropped. */
  ignored?: readonly string[];
  /** For top-level sections, where anything unrecognised is treated as not supported yet. */
  unknownIsUnsupported?: boolean;
  noun?: 'field' | 'section';
}

export interface Field {
  value: unknown;
  at: Trail;
}

export type Fields<K extends string> = Partial<Record<K, Field>>;

/** Keeps the first spelling when a key is repeated in another case, and reports the repeat. */
export function readFields<K extends string>(
  obj: Readonly<Record<string, unknown>>,
  at: Trail,
  table: FieldTable<K>,
  problems: Problems,
): Fields<K> {
  const {
    subject,
    supported,
    unsupported = [],
    ignored = [],
    unknownIsUnsupported = false,
    noun = 'field',
  } = table;
  const found: Fields<K> = {};
  const firstKey = new Map<K, string>();
  for (const [key, value] of Object.entries(obj)) {
    const lower = key.toLowerCase();
    const canonical = supported.find((name) => name.toLowerCase() === lower);
    const fieldAt = at.child(canonical ?? key, key);
    if (canonical !== undefined) {
      const earlier = firstKey.get(canonical);
      if (earlier === undefined) {
        firstKey.set(canonical, key);
        found[canonical] = { value, at: fieldAt };
      } else {
        problems.report(
          ConfigErrorCodes.DUPLICATE_FIELD,
          fieldAt,
          `${subject}: ${noun} '${key}' repeats '${earlier}' (names are case-insensitive)`,
        );
      }
    } else if (ignored.some((name) => name.toLowerCase() === lower)) {
      if (value !== null && value !== undefined) {
        problems.warn(
          ConfigErrorCodes.IGNORED_FIELD,
          fieldAt,
          `${subject}: ${noun} '${key}' is ignored (Traefik v3 accepts it and does nothing with it)`,
        );
      }
    } else if (unknownIsUnsupported || unsupported.some((name) => name.toLowerCase() === lower)) {
      // An empty Traefik block asks for nothing Berth lacks, so it is no reason to drop anything.
      if (value !== null && value !== undefined) {
        const alternatives = unknownIsUnsupported ? `; supported ${noun}s: ${supported.join(', ')}` : '';
        problems.report(
          ConfigErrorCodes.UNSUPPORTED,
          fieldAt,
          `${subject}: ${noun} '${key}' is not supported by Berth yet${alternatives}`,
        );
      }
    } else {
      problems.report(
        ConfigErrorCodes.UNKNOWN_FIELD,
        fieldAt,
        `${subject}: unknown ${noun} '${key}'; valid ${noun}s: ${supported.join(', ')}`,
      );
    }
  }
  return found;
}
