// The pure half of the Swarm provider: services and tasks → facts → the Docker label decoder → one part per service.
import type { ConfigError, DynamicConfig } from '@berth/config';
import { canonicalJson } from '@berth/protocol';
import { decodeContainers } from '../docker/labels/decode-containers.js';
import type { PartSources, ProviderPart } from '../provider-part.js';
import type { SwarmState } from './swarm-client.js';
import { factsFromSwarm } from './swarm-facts.js';
import type { SwarmProviderSettings } from './swarm-settings.js';

export const SWARM_PROVIDER = 'swarm';

/** Never throws: a bad label becomes an error in the part of the service that carries it. */
export type SwarmDecoder = (state: SwarmState, settings: SwarmProviderSettings) => ProviderPart[];

/**
 * The decoder sees one fact per running task, all named after their service, so replicas pool their
 * servers as Traefik's do; the task parts of one service are then folded into one part, with each
 * error once.
 */
export const decodeSwarm: SwarmDecoder = (state, settings) => {
  const { facts, errors } = factsFromSwarm(state, settings);
  const parts = decodeContainers(facts, settings, { provider: SWARM_PROVIDER });
  const folded = new Map<string, ProviderPart>();
  for (const part of parts) {
    const have = folded.get(part.sourceKey);
    if (have === undefined) {
      folded.set(part.sourceKey, {
        ...part,
        config: union({}, part.config, 2) as unknown as DynamicConfig,
        errors: [...part.errors],
        ...(part.sources === undefined
          ? {}
          : { sources: union({}, part.sources, 1) as unknown as PartSources }),
      });
      continue;
    }
    union(have.config as unknown as Record<string, unknown>, part.config, 2);
    have.errors.push(...part.errors);
    if (part.sources !== undefined) {
      have.sources = union(
        (have.sources ?? {}) as unknown as Record<string, unknown>,
        part.sources,
        1,
      ) as unknown as PartSources;
    }
  }
  for (const [service, problems] of errors) {
    // Said only about services the decoder routes: a label on a service Berth ignores is no one's problem.
    folded.get(`${SWARM_PROVIDER}/${service}`)?.errors.unshift(...problems);
  }
  for (const part of folded.values()) part.errors = unique(part.errors);
  return [...folded.values()];
};

/**
 * Adds `from`'s named elements to `into`, `depth` levels of sections above the names
 * (config: `http` → `routers` → name); the first definition of a name stays. After the decoder's
 * merge, the task parts of one service define each name the same way.
 */
function union(into: Record<string, unknown>, from: object, depth: number): Record<string, unknown> {
  for (const [key, value] of Object.entries(from)) {
    const have = Object.hasOwn(into, key) ? into[key] : undefined;
    if (have === undefined) {
      const copy = depth > 0 && isPlainObject(value) ? union({}, value, depth - 1) : value;
      // defineProperty: a name like `__proto__` stays a plain key.
      Object.defineProperty(into, key, { value: copy, enumerable: true, writable: true, configurable: true });
    } else if (depth > 0 && isPlainObject(have) && isPlainObject(value)) {
      union(have, value, depth - 1);
    }
  }
  return into;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unique(errors: ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = canonicalJson(e);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
