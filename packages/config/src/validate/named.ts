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
  const memo = reporter.memo;
  // An element's reading depends on its raw object, its kind, and where it sits (the messages and
  // paths of its problems), nothing else: the same three give the same validated object. The
  // same holds for a whole mapping of elements (a provider hands over the same raw mapping when
  // none of its elements changed).
  const where = memo === undefined ? '' : `${kind}\u0000${at.raw.join('\u0000')}\u0000${at.dotted}`;
  const whole = `${where}\u0000(mapping)`;
  const knownAll = memo?.get(value);
  if (knownAll !== undefined && knownAll.where === whole) {
    return knownAll.value as Record<string, T>;
  }
  const reportedBefore = reporter.errors.length;
  for (const [name, raw] of Object.entries(value)) {
    const known = memo !== undefined && typeof raw === 'object' && raw !== null ? memo.get(raw) : undefined;
    if (known !== undefined && known.where === where && known.name === name) {
      kept.push([name, known.value as T]);
      continue;
    }
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
    const reported = reporter.errors.length;
    const element = readOne(raw, elementAt, subject, el);
    if (element !== undefined && el.ok) kept.push([name, element]);
    // Only a clean reading is remembered: one with problems must report them again, located anew.
    if (memo !== undefined && element !== undefined && el.ok && reporter.errors.length === reported)
      memo.set(raw, { where, name, value: element });
  }
  // fromEntries defines own properties, so a name like `__proto__` stays a plain key.
  const out: Record<string, T> = Object.fromEntries(kept);
  // A mapping read without any report is remembered whole.
  if (memo !== undefined && reporter.errors.length === reportedBefore)
    memo.set(value, { where: whole, name: '', value: out });
  return out;
}
