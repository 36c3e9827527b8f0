// Checks every matcher call of a parsed rule against the matcher registry, in reading order.
import { ConfigErrorCodes } from '../errors.js';
import { findMatcher, HTTP_MATCHERS, type MatcherTable, matcherNames } from './matchers.js';
import type { RuleError, RuleNode } from './types.js';

type Call = Extract<RuleNode, { kind: 'call' }>;

/** The first problem left to right, or null when every call names a known matcher correctly. */
export function checkCalls<V>(
  ast: RuleNode,
  table: MatcherTable<V> = HTTP_MATCHERS as unknown as MatcherTable<V>,
): RuleError | null {
  // An explicit stack: long `a || b || ...` chains make left-leaning trees deeper than the call stack.
  const stack: RuleNode[] = [ast];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.kind === 'call') {
      const problem = checkCall(node, table);
      if (problem !== null) return problem;
    } else if (node.kind === 'not') {
      stack.push(node.operand);
    } else {
      stack.push(node.right, node.left);
    }
  }
  return null;
}

/** What accepted calls will not do as they seem to (see MatcherSpec.warn), left to right. */
export function callWarnings<V>(
  ast: RuleNode,
  table: MatcherTable<V> = HTTP_MATCHERS as unknown as MatcherTable<V>,
): RuleError[] {
  const warnings: RuleError[] = [];
  const stack: RuleNode[] = [ast];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.kind === 'call') {
      const message = findMatcher(node.name, table)?.warn?.(node.args) ?? null;
      if (message !== null) {
        warnings.push({
          code: ConfigErrorCodes.RULE_NEVER_MATCHES,
          message: `${message} (column ${node.column})`,
          column: node.column,
        });
      }
    } else if (node.kind === 'not') {
      stack.push(node.operand);
    } else {
      stack.push(node.right, node.left);
    }
  }
  return warnings;
}

function checkCall<V>(call: Call, table: MatcherTable<V>): RuleError | null {
  const { name, args, column } = call;
  const spec = findMatcher(name, table);
  if (spec === undefined) {
    return {
      code: ConfigErrorCodes.RULE_UNKNOWN_MATCHER,
      message: unknownMatcherMessage(name, column, matcherNames(table)),
      column,
    };
  }
  if (args.length < spec.minArgs || args.length > spec.maxArgs) {
    const message = `wrong number of arguments at column ${column}: ${name} takes ${arity(spec.minArgs, spec.maxArgs)}, got ${args.length}`;
    return { code: ConfigErrorCodes.RULE_ARGS, message, column };
  }
  const problem = spec.validate(args);
  if (problem === null) return null;
  return {
    code: ConfigErrorCodes.RULE_ARGS,
    message: `invalid argument at column ${column}: ${problem}`,
    column,
  };
}

function unknownMatcherMessage(name: string, column: number, known: string[]): string {
  const sameLetters = known.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  const hint =
    sameLetters === undefined ? `known matchers: ${known.join(', ')}` : `did you mean '${sameLetters}'?`;
  return `unknown matcher '${name}' at column ${column}; ${hint}`;
}

function arity(min: number, max: number): string {
  const plural = (n: number) => (n === 1 ? `${n} argument` : `${n} arguments`);
  if (min === max) return `exactly ${plural(min)}`;
  if (max === Number.POSITIVE_INFINITY) return `at least ${plural(min)}`;
  return `${min} to ${plural(max)}`;
}
