// Which rule syntax a router is read in, and how the snapshot tells the nodes.
import type { ConfigError, RuleSyntax, Source, StaticConfig } from '@berth/config';
import { errorAt } from './references.js';

/** The router's own `ruleSyntax`, else the static `core.defaultRuleSyntax`, else v3: as Traefik's models. */
export function ruleSyntaxOf(router: { ruleSyntax?: RuleSyntax }, statics: StaticConfig): RuleSyntax {
  return router.ruleSyntax ?? statics.core?.defaultRuleSyntax ?? 'v3';
}

/**
 * The router as a node receives it: `ruleSyntax: v2` when that is the syntax in force, nothing for
 * v3, so that bodies without v2 rules hash as they always did.
 */
export function withSyntaxInForce<R extends { ruleSyntax?: RuleSyntax }>(router: R, syntax: RuleSyntax): R {
  if (syntax === 'v2') return router.ruleSyntax === 'v2' ? router : { ...router, ruleSyntax: 'v2' };
  if (router.ruleSyntax === undefined) return router;
  const { ruleSyntax: _dropped, ...rest } = router;
  return rest as R;
}

/** A rule warning (accepted, yet it never matches) as a located ConfigError that does not disable the router. */
export function ruleWarning(
  source: Source | undefined,
  path: string,
  message: string,
  code: string,
): ConfigError {
  return { ...errorAt(source, path, code, message), severity: 'warning' };
}

/** Errors that take the element out; warnings leave it in. */
export function blocking(errors: readonly ConfigError[]): boolean {
  return errors.some((e) => e.severity !== 'warning');
}
