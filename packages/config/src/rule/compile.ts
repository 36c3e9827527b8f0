// Turns a parsed rule into one fast closure plus the host names an index can file it under.
import { findMatcher } from './matchers.js';
import { httpMatchers } from './matchers-v2.js';
import type { CompiledRule, RuleMatcher, RuleNode, RuleSyntax } from './types.js';

/**
 * Expects an AST from a successful parseRule of the same syntax. A hand-built AST naming an
 * unknown matcher is a programming error and throws.
 */
export function compileRule(ast: RuleNode, syntax: RuleSyntax = 'v3'): CompiledRule {
  switch (ast.kind) {
    case 'call': {
      const spec = findMatcher(ast.name, httpMatchers(syntax));
      if (spec === undefined) throw new Error(`compileRule: unknown matcher '${ast.name}'`);
      return {
        match: spec.build(ast.args),
        hosts: spec.hosts?.(ast.args) ?? null,
        hostSuffixes: spec.hostSuffixes?.(ast.args) ?? null,
      };
    }
    case 'not': {
      const inner = compileRule(ast.operand, syntax).match;
      // A negated Host can match every other host, so it binds the rule to none.
      return { match: (req) => !inner(req), hosts: null, hostSuffixes: null };
    }
    case 'and':
    case 'or': {
      const parts = operands(ast, ast.kind).map((operand) => compileRule(operand, syntax));
      const matchers = parts.map((part) => part.match);
      const hostSets = parts.map((part) => part.hosts);
      const suffixSets = parts.map((part) => (part.hosts === null ? (part.hostSuffixes ?? null) : null));
      if (ast.kind === 'and') {
        const hosts = intersect(hostSets);
        if (hosts !== null)
          return { match: all(matchers), hosts: withSuffixes(hosts, suffixSets), hostSuffixes: null };
        // Any one bound operand bounds the whole conjunction; the first keeps the choice deterministic.
        const bound = suffixSets.find((set) => set !== null) ?? null;
        return { match: all(matchers), hosts: null, hostSuffixes: bound };
      }
      const hosts = union(hostSets);
      // Mixed exact and suffix branches stay unbound: a suffix tier entry cannot stand for an exact host.
      return { match: any(matchers), hosts, hostSuffixes: hosts === null ? union(suffixSets) : null };
    }
  }
}

/**
 * Flattens a chain of the same operator into its operands, left to right, without recursion:
 * `a || b || c` parses as a left-leaning tree as deep as the chain is long.
 */
function operands(root: RuleNode, kind: 'and' | 'or'): RuleNode[] {
  const found: RuleNode[] = [];
  const stack: RuleNode[] = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.kind === kind) stack.push(node.right, node.left);
    else found.push(node);
  }
  return found;
}

function all(matchers: RuleMatcher[]): RuleMatcher {
  const [a, b] = matchers;
  if (matchers.length === 2 && a !== undefined && b !== undefined) return (req) => a(req) && b(req);
  return (req) => matchers.every((m) => m(req));
}

function any(matchers: RuleMatcher[]): RuleMatcher {
  const [a, b] = matchers;
  if (matchers.length === 2 && a !== undefined && b !== undefined) return (req) => a(req) || b(req);
  return (req) => matchers.some((m) => m(req));
}

/** Bound if any operand is bound; several bound operands leave only the hosts they share. */
function intersect(sets: ReadonlyArray<string[] | null>): string[] | null {
  const bound = sets.filter((set): set is string[] => set !== null);
  const [first, ...rest] = bound;
  if (first === undefined) return null;
  return first.filter((host) => rest.every((set) => set.includes(host)));
}

/** Exact hosts that cannot satisfy a suffix-bound operand of the same conjunction never match. */
function withSuffixes(hosts: string[], suffixSets: ReadonlyArray<string[] | null>): string[] {
  return hosts.filter((host) =>
    suffixSets.every((set) => set === null || set.some((suffix) => host.endsWith(suffix))),
  );
}

/** Bound only if every alternative is bound: one unbound branch can match any host. */
function union(sets: ReadonlyArray<string[] | null>): string[] | null {
  const merged = new Set<string>();
  for (const set of sets) {
    if (set === null) return null;
    for (const host of set) merged.add(host);
  }
  return [...merged];
}
