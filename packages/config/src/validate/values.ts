// Typed readers for single fields. Null counts as absent, as it does in a YAML `key:` with no value.
import { ConfigErrorCodes } from '../errors.js';
import type { Field } from './fields.js';
import type { Problems, Trail } from './report.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field that is there with a value; the false branch still allows a present-but-null field. */
export function isPresent(field: Field | undefined): field is Field & { value: NonNullable<unknown> } {
  return field !== undefined && field.value !== null && field.value !== undefined;
}

/** A short description of a value for "got ..." in messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

/** `where` is the missing field's position, used only when `field` is absent. */
export function readRequiredString(
  field: Field | undefined,
  where: Trail,
  label: string,
  problems: Problems,
): string | undefined {
  if (!isPresent(field)) {
    problems.report(ConfigErrorCodes.REQUIRED, field?.at ?? where, `${label} is required`);
    return undefined;
  }
  if (typeof field.value !== 'string') {
    problems.report(
      ConfigErrorCodes.INVALID_TYPE,
      field.at,
      `${label} must be a string, got ${describeValue(field.value)}`,
    );
    return undefined;
  }
  if (field.value.trim() === '') {
    problems.report(ConfigErrorCodes.REQUIRED, field.at, `${label} must not be empty`);
    return undefined;
  }
  return field.value;
}

/**
 * A list of names. A single string is a one-element list, and commas split it, so that the
 * Docker label form `entrypoints=web,websecure` reads the same as a YAML list.
 */
export function readStringList(
  field: Field | undefined,
  label: string,
  problems: Problems,
): string[] | undefined {
  if (!isPresent(field)) return undefined;
  const { value, at } = field;
  if (typeof value === 'string') {
    return value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '');
  }
  if (!Array.isArray(value)) {
    problems.report(
      ConfigErrorCodes.INVALID_TYPE,
      at,
      `${label} must be a list of strings, got ${describeValue(value)}`,
    );
    return undefined;
  }
  const list: string[] = [];
  let ok = true;
  value.forEach((item: unknown, index) => {
    if (typeof item === 'string' && item.trim() !== '') {
      list.push(item);
      return;
    }
    ok = false;
    problems.report(
      ConfigErrorCodes.INVALID_TYPE,
      at.child(String(index)),
      `${label}[${index}] must be a non-empty string, got ${describeValue(item)}`,
    );
  });
  return ok ? list : undefined;
}

/** Whole numbers from 0 up; numeric strings count, since Docker labels carry only strings. */
export function readNonNegativeInteger(
  field: Field | undefined,
  label: string,
  problems: Problems,
): number | undefined {
  if (!isPresent(field)) return undefined;
  const { value, at } = field;
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d+\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (Number.isSafeInteger(number) && number >= 0) return number;
  problems.report(
    ConfigErrorCodes.INVALID_TYPE,
    at,
    `${label} must be a whole number of 0 or more, got ${describeValue(value)}`,
  );
  return undefined;
}

/** Booleans, and `true`/`false` in any case as strings for the same reason as numbers. */
export function readBoolean(
  field: Field | undefined,
  label: string,
  problems: Problems,
): boolean | undefined {
  if (!isPresent(field)) return undefined;
  const { value, at } = field;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  problems.report(
    ConfigErrorCodes.INVALID_TYPE,
    at,
    `${label} must be true or false, got ${describeValue(value)}`,
  );
  return undefined;
}
