// Shared test helpers: a readable rendering of rule trees and a request builder.
import type { RequestView, RuleNode } from '../src/index.js';
import { parseRule } from '../src/index.js';

/** Renders a tree with explicit parentheses, so precedence shows at a glance. */
export function render(node: RuleNode): string {
  switch (node.kind) {
    case 'call':
      return `${node.name}(${node.args.join(',')})`;
    case 'not':
      return `!${render(node.operand)}`;
    case 'and':
      return `(${render(node.left)} && ${render(node.right)})`;
    case 'or':
      return `(${render(node.left)} || ${render(node.right)})`;
  }
}

/** Parses a rule the test expects to be valid, failing loudly with the parser's message if not. */
export function parsed(rule: string): RuleNode {
  const result = parseRule(rule);
  if (!result.ok) throw new Error(`expected ${rule} to parse: ${result.error.message}`);
  return result.ast;
}

export function request(overrides: Partial<RequestView> = {}): RequestView {
  return {
    host: 'example.com',
    path: '/',
    method: 'GET',
    headers: {},
    query: '',
    clientIp: '127.0.0.1',
    ...overrides,
  };
}
