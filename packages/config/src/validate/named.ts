// Reads a mapping of named elements (routers, services, entry points), dropping broken ones alone.
import { ConfigErrorCodes } from '../errors.js';
import type { Element, Reporter, Trail } from './report.js';
import { describeValue, isRecord } from './values.js';

/** Reads one element's fields; reports through `el`, and any report there drops the element. */
export type ElementReader<T> = (
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
) => T | undefined;

export function readNamed<T>(
  value: unknown,
  at: Trail,
  kind: string,
  reporter: Reporter,
  readOne: ElementReader<T>,
): Record<string, T> {
  if (value === null || value === undefined) return {};
  if (!isRecord(value)) {
    reporter.report(
      ConfigErrorCodes.INVALID_TYPE,
      at,
      `${at.dotted} must be a mapping of ${kind} names to ${kind}s, got ${describeValue(value)}`,
    );
    return {};
  }
  const kept: Array<[string, T]> = [];
  for (const [name, raw] of Object.entries(value)) {
    // Names are identifiers chosen by the user and keep their case; only schema keys fold.
    const elementAt = at.child(name);
    const subject = `${kind} '${name}'`;
    const el = reporter.element();
    if (!isRecord(raw)) {
      el.report(
        ConfigErrorCodes.INVALID_TYPE,
        elementAt,
        `${subject} must be a mapping, got ${describeValue(raw)}`,
      );
      continue;
    }
    const element = readOne(raw, elementAt, subject, el);
    if (element !== undefined && el.ok) kept.push([name, element]);
  }
  // fromEntries defines own properties, so a name like `__proto__` stays a plain key.
  return Object.fromEntries(kept);
}
