// Names that point at other elements (`auth@file` is `auth`, as Traefik qualifies names by provider),
// and how the compiler says why one cannot be followed.
import type { ConfigError, Source } from '@berth/config';
import { ErrorCodes } from './error-codes.js';
import type { Problem } from './reference-graph.js';

/** Providers whose qualifier Berth accepts and drops; all of Berth's providers share one namespace. */
const PROVIDERS = new Set(['docker', 'file', 'internal']);

/** `auth@file` → `auth`; a name with an unknown provider is left as written (and then is not found). */
export function stripProvider(name: string): string {
  const at = name.lastIndexOf('@');
  if (at <= 0) return name;
  return PROVIDERS.has(name.slice(at + 1).toLowerCase()) ? name.slice(0, at) : name;
}

/** Traefik's built-in transport, always there without being declared. */
export function isBuiltinTransport(name: string): boolean {
  return stripProvider(name) === 'default';
}

/** The verdict of an element dropped because its definitions conflict; compared by identity. */
export const CONFLICT: Problem = { code: ErrorCodes.CONFIG_CONFLICT, message: 'its definitions conflict' };

/** Why a reference cannot be followed, as the end of a sentence; null when it can. */
export function referenceProblem(target: string, verdicts: Map<string, Problem | null>): string | null {
  if (!verdicts.has(target)) return 'is not defined';
  const problem = verdicts.get(target) ?? null;
  if (problem === null) return null;
  return problem === CONFLICT
    ? 'was dropped because its definitions conflict'
    : `was dropped (${problem.code})`;
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
  const target = stripProvider(transport);
  if (defined.has(target)) return null;
  const why = conflicts.has(target) ? 'was dropped because its definitions conflict' : 'is not defined';
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
