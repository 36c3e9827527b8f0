// Names that point at other elements (qualified by provider before the merge, see namespaces.ts),
// and how the compiler says why one cannot be followed.
import { type ConfigError, INTERNAL_SERVICES, internalService, type Source } from '@berth/config';
import { ErrorCodes } from './error-codes.js';
import { compareStrings } from './merge.js';
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

/**
 * What a service graph (weighted and other parents) says of a missing child and of a cycle, for
 * `label` services (`''` for HTTP, `TCP `, `UDP `): the same sentences in every section.
 */
export function childServiceProblems(label: '' | 'TCP ' | 'UDP '): {
  missing: (name: string, ref: string, why: Problem | null) => Problem;
  cycle: (members: readonly string[]) => Problem;
} {
  return {
    missing: (name, ref, why) => ({
      code: ErrorCodes.CONFIG_SERVICE_MISSING,
      message: `${label}service "${name}": child service "${ref}" ${memberProblem(ref, why)}`,
    }),
    cycle: (members) => ({
      code: ErrorCodes.CONFIG_SERVICE_CYCLE,
      message: `${label}services ${members.map((m) => `"${m}"`).join(', ')} lead back to each other in a cycle; they are dropped`,
    }),
  };
}

/** One located error per element a graph found unusable, conflicts aside (the merge reported those). */
export function graphErrors(
  section: string,
  verdicts: Map<string, Problem | null>,
  sourceOf: (name: string) => Source | undefined,
): Map<string, ConfigError> {
  const out = new Map<string, ConfigError>();
  for (const [name, problem] of [...verdicts].sort(([a], [b]) => compareStrings(a, b))) {
    if (problem === null || problem === CONFLICT) continue;
    out.set(name, errorAt(sourceOf(name), `${section}.${name}`, problem.code, problem.message));
  }
  return out;
}
