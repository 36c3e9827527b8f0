// A small declarative reader: nested mappings described once as field kinds, read leniently like labels.
import { type ConfigErrorCode, ConfigErrorCodes } from '../errors.js';
import { parseDuration } from '../values/duration.js';
import { isHeaderName, isHeaderValue } from '../values/http-syntax.js';
import { type Field, readFields } from './fields.js';
import type { Problems, Trail } from './report.js';
import { describeValue, isPresent, isRecord, readBoolean, readStringList } from './values.js';

/** A problem with one value: its code and what to say after the field's label. */
export type ValueProblem = { code: ConfigErrorCode; message: string };

export type Kind =
  | {
      kind: 'string';
      allowEmpty?: boolean;
      /** Reads a number as its digits, for fields like `port` that YAML turns into numbers. */
      fromNumber?: boolean;
      check?: (value: string) => ValueProblem | null;
    }
  /** One of a few words, matched case-insensitively and normalised to the spelling listed. */
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'boolean' }
  | { kind: 'integer'; min?: number; max?: number }
  | { kind: 'number'; min?: number; max?: number }
  | { kind: 'duration' }
  | { kind: 'stringList'; nonEmpty?: boolean; check?: (item: string) => ValueProblem | null }
  /** With `headers`, keys must be header names and values header values, as Node will insist. */
  | { kind: 'stringMap'; headers?: boolean }
  | { kind: 'object'; shape: Shape }
  | { kind: 'objectList'; shape: Shape; nonEmpty?: boolean }
  /** Reads a field its own way; returns undefined after reporting. */
  | {
      kind: 'custom';
      read: (field: Field & { value: NonNullable<unknown> }, label: string, problems: Problems) => unknown;
    };

export interface Shape {
  fields: Readonly<Record<string, Kind>>;
  required?: readonly string[];
  /** Traefik fields Berth does not implement: reported as unsupported rather than as typos. */
  unsupported?: readonly string[];
  /** Fields Traefik v3 accepts and ignores: warned about, never a reason to drop anything. */
  ignored?: readonly string[];
}

/**
 * Reads a mapping described by `shape`. Returns the fields that read cleanly under their canonical
 * names (absent ones left out entirely), or undefined when `value` is not a mapping. Every problem is
 * reported; callers that drop elements as a unit rely on that, not on the result.
 */
export function readShape(
  value: unknown,
  at: Trail,
  subject: string,
  shape: Shape,
  problems: Problems,
): Record<string, unknown> | undefined {
  if (!isRecord(value)) {
    problems.report(
      ConfigErrorCodes.INVALID_TYPE,
      at,
      `${subject} must be a mapping, got ${describeValue(value)}`,
    );
    return undefined;
  }
  const names = Object.keys(shape.fields);
  const fields: Partial<Record<string, Field>> = readFields(
    value,
    at,
    { subject, supported: names, unsupported: shape.unsupported ?? [], ignored: shape.ignored ?? [] },
    problems,
  );
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const field = fields[name];
    const label = `${subject}: ${name}`;
    if (!isPresent(field)) {
      if (shape.required?.includes(name)) {
        problems.report(ConfigErrorCodes.REQUIRED, field?.at ?? at.child(name), `${label} is required`);
      }
      continue;
    }
    const read = readKind(field, label, shape.fields[name]!, problems);
    if (read !== undefined) out[name] = read;
  }
  return out;
}

export function readKind(
  field: Field & { value: NonNullable<unknown> },
  label: string,
  kind: Kind,
  problems: Problems,
): unknown {
  const { value, at } = field;
  const wrong = (expected: string): undefined => {
    problems.report(
      ConfigErrorCodes.INVALID_TYPE,
      at,
      `${label} must be ${expected}, got ${describeValue(value)}`,
    );
    return undefined;
  };
  switch (kind.kind) {
    case 'string': {
      const text =
        kind.fromNumber && typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
      if (typeof text !== 'string') return wrong('a string');
      if (!kind.allowEmpty && text.trim() === '') {
        problems.report(ConfigErrorCodes.REQUIRED, at, `${label} must not be empty`);
        return undefined;
      }
      return checked(text, kind.check, label, at, problems);
    }
    case 'enum': {
      const lower = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
      const found = kind.values.find((v) => v.toLowerCase() === lower);
      return found ?? wrong(`one of ${kind.values.map((v) => JSON.stringify(v)).join(', ')}`);
    }
    case 'boolean':
      return readBoolean(field, label, problems);
    case 'integer':
    case 'number': {
      const number = toNumber(value);
      const whole = kind.kind === 'integer';
      const ok =
        number !== null &&
        (whole ? Number.isSafeInteger(number) : Number.isFinite(number)) &&
        (kind.min === undefined || number >= kind.min) &&
        (kind.max === undefined || number <= kind.max);
      if (ok) return number;
      return wrong(`${whole ? 'a whole number' : 'a number'}${range(kind.min, kind.max)}`);
    }
    case 'duration': {
      if (typeof value !== 'string' && typeof value !== 'number')
        return wrong('a duration like "10s" or "1m30s"');
      const ms = parseDuration(value);
      if (ms === null)
        return wrong('a duration like "10s", "250ms" or "1m30s" (a bare number means seconds)');
      return normaliseDuration(value, ms);
    }
    case 'stringList': {
      const list = readStringList(field, label, problems);
      if (list === undefined) return undefined;
      if (kind.nonEmpty && list.length === 0) {
        problems.report(ConfigErrorCodes.REQUIRED, at, `${label} must list at least one entry`);
        return undefined;
      }
      let ok = true;
      list.forEach((item, index) => {
        if (checked(item, kind.check, `${label}[${index}]`, at.child(String(index)), problems) === undefined)
          ok = false;
      });
      return ok ? list : undefined;
    }
    case 'stringMap': {
      if (!isRecord(value)) return wrong('a mapping of names to strings');
      const entries: Array<[string, string]> = [];
      let ok = true;
      for (const [key, item] of Object.entries(value)) {
        // An empty value is meaningful (Traefik: remove the header), and numbers come from YAML.
        const text =
          item === null ? '' : typeof item === 'number' || typeof item === 'boolean' ? String(item) : item;
        if (typeof text === 'string') {
          const problem = kind.headers ? headerProblem(key, text) : null;
          if (problem === null) entries.push([key, text]);
          else {
            ok = false;
            problems.report(ConfigErrorCodes.INVALID_TYPE, at.child(key), `${label}: ${problem}`);
          }
        } else {
          ok = false;
          problems.report(
            ConfigErrorCodes.INVALID_TYPE,
            at.child(key),
            `${label}.${key} must be a string, got ${describeValue(item)}`,
          );
        }
      }
      return ok ? Object.fromEntries(entries) : undefined;
    }
    case 'object':
      return readShape(value, at, label, kind.shape, problems);
    case 'objectList': {
      if (!Array.isArray(value)) return wrong('a list');
      if (kind.nonEmpty && value.length === 0) {
        problems.report(ConfigErrorCodes.REQUIRED, at, `${label} must list at least one entry`);
        return undefined;
      }
      const items: Record<string, unknown>[] = [];
      value.forEach((item: unknown, index) => {
        const read = readShape(item, at.child(String(index)), `${label}[${index}]`, kind.shape, problems);
        if (read !== undefined) items.push(read);
      });
      return items.length === value.length ? items : undefined;
    }
    case 'custom':
      return kind.read(field, label, problems);
  }
}

function headerProblem(name: string, value: string): string | null {
  if (!isHeaderName(name)) return `${JSON.stringify(name)} is not a valid header name`;
  if (!isHeaderValue(value)) return `the value of ${name} contains a control character or line break`;
  return null;
}

function checked(
  text: string,
  check: ((value: string) => ValueProblem | null) | undefined,
  label: string,
  at: Trail,
  problems: Problems,
): string | undefined {
  const problem = check?.(text) ?? null;
  if (problem === null) return text;
  problems.report(problem.code, at, `${label} ${problem.message}`);
  return undefined;
}

/** Numbers, and numeric strings since Docker labels carry only strings. */
function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/.test(value)) return Number(value);
  return null;
}

function range(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` of ${min} or more`;
  if (max !== undefined) return ` of at most ${max}`;
  return '';
}

/** A number (or numeric string) means seconds, as in Traefik; Go duration strings stay as written. */
function normaliseDuration(value: string | number, ms: number): string {
  if (typeof value === 'number' || /^\s*\d+(\.\d+)?\s*$/.test(value)) return `${ms / 1000}s`;
  return value.trim();
}
