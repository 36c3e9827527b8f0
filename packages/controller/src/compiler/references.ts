// Names that point at other elements (qualified by provider before the merge, see namespaces.ts),
// and how the compiler says why one cannot be followed.
import { type ConfigError, INTERNAL_SERVICES, internalService, type Source } from '@berth/config';
import { ErrorCodes } from './error-codes.js';
import { unknownProvider } from './namespaces.js';
import type { Problem } from './reference-graph.js';

/** Traefik's built-in transport, always there without being declared. */
export function isBuiltinTransport(name: string): boolean {
  return name === 'default' || name === 'default@internal';
}

/** The verdict of an element dropped because its definitions conflict; compared by identity. */
export const CONFLICT: Problem = { code: ErrorCodes.CONFIG_CONFLICT, message: 'its definitions conflict' };

/** Why a reference cannot be followed, as the end of a sentence; null when it can. */
export function referenceProblem(target: string, verdicts: Map<string, Problem | null>): string | null {
  if (!verdicts.has(target)) return unknownProvider(target) ?? 'is not defined';
  const problem = verdicts.get(target) ?? null;
  if (problem === null) return null;
  return problem === CONFLICT
    ? 'was dropped because its definitions conflict'
    : `was dropped (${problem.code})`;
}

/**
 * Why a router cannot use the `x@internal` service it names (the end of a sentence); null for one
 * every node provides itself (see @berth/config's INTERNAL_SERVICES).
 */
export function internalServiceProblem(ref: string): string | null {
  if (internalService(ref) !== undefined) return null;
  const known = INTERNAL_SERVICES.map((s) => `${s}@internal`).join(', ');
  return `is no internal service of Berth (internal services: ${known})`;
}

/** The end of a sentence about a graph member (chain member, child service) `ref` that `why` made unusable. */
export function memberProblem(ref: string, why: Problem | null): string {
  return why === null ? (unknownProvider(ref) ?? 'is not defined') : `was dropped (${why.code})`;
}

/**
 * Why `owner` (`service "api"`, `TCP service "git"`) cannot use the servers transport it names;
 * null when it names none, the built-in one, or one that is defined.
 */
export function transportProblem(
  owner: string,
  transport: string | undefined,
  defined: ReadonlySet<string> | ReadonlyMap<string, unknown>,
  conflicts: ReadonlySet<string> | ReadonlyMap<string, unknown>,
): Problem | null {
  if (transport === undefined || isBuiltinTransport(transport)) return null;
  if (defined.has(transport)) return null;
  const why = conflicts.has(transport)
    ? 'was dropped because its definitions conflict'
    : (unknownProvider(transport) ?? 'is not defined');
  return {
    code: ErrorCodes.CONFIG_TRANSPORT_MISSING,
    message: `${owner}: servers transport "${transport}" ${why}`,
  };
}

export function errorAt(
  source: Source | undefined,
  path: string,
  code: string,
  message: string,
): ConfigError {
  return { code, path, message, ...(source === undefined ? {} : { source }) };
}
