// A router's `ruleSyntax` and the check of its rule, shared by HTTP and TCP routers.
import { ConfigErrorCodes } from '../errors.js';
import type { ParseResult, RuleSyntax } from '../rule/types.js';
import type { Field } from './fields.js';
import type { Element } from './report.js';
import { describeValue, isPresent } from './values.js';

/**
 * `v2` or `v3` as written. Traefik reads any other string (`default`, `V2`, a typo) as v3 without a
 * word, and so does Berth, with a warning; absent (or empty) leaves the static default in charge.
 */
export function readRuleSyntax(
  field: Field | undefined,
  subject: string,
  el: Element,
): RuleSyntax | undefined {
  if (!isPresent(field) || field.value === '') return undefined;
  if (typeof field.value !== 'string') {
    el.report(
      ConfigErrorCodes.INVALID_TYPE,
      field.at,
      `${subject}: ruleSyntax must be a string, got ${describeValue(field.value)}`,
    );
    return undefined;
  }
  if (field.value === 'v2' || field.value === 'v3') return field.value;
  el.warn(
    ConfigErrorCodes.RULE_SYNTAX_VERSION,
    field.at,
    `${subject}: ruleSyntax ${JSON.stringify(field.value)} is neither v2 nor v3; the rule is read as v3, as Traefik does`,
  );
  return 'v3';
}

/**
 * The rule parsed in its router's syntax. Without one, the static `core.defaultRuleSyntax` decides,
 * which a provider does not know: a rule either syntax accepts passes here, and the compiler reads it
 * in the syntax in force (reporting what that syntax refuses).
 */
export function parseInSyntax(
  rule: string,
  syntax: RuleSyntax | undefined,
  parse: (text: string, syntax: RuleSyntax) => ParseResult,
): ParseResult {
  const parsed = parse(rule, syntax ?? 'v3');
  if (parsed.ok || syntax !== undefined) return parsed;
  const asV2 = parse(rule, 'v2');
  return asV2.ok ? asV2 : parsed;
}
