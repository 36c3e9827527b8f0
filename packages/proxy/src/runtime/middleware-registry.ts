// Builds each named middleware of a snapshot once, on first use, and remembers why one cannot be built.
import type { HttpMiddleware } from '@berth/config';
import { jsonEqual } from '@berth/protocol';
import type { Logger } from 'pino';
import type { Middleware, MiddlewareFactory } from '../http/context.js';
import { MiddlewareConfigError } from '../http/context.js';
import { resolveName } from '../service/build-services.js';
import type { ServiceRuntime } from './types.js';

export type MiddlewareFactories = Partial<Record<keyof HttpMiddleware, MiddlewareFactory>>;

/** Stable codes for middlewares that disable the routers using them. */
export const MiddlewareProblemCodes = {
  /** The router (or a chain) names a middleware the snapshot does not define. */
  MISSING: 'BERTH_PROXY_MIDDLEWARE_MISSING',
  /** A middleware kind this node has no implementation of. */
  UNSUPPORTED: 'BERTH_PROXY_MIDDLEWARE_UNSUPPORTED',
  /** Chains that include each other. */
  CYCLE: 'BERTH_PROXY_MIDDLEWARE_CYCLE',
  /** The factory refused the configuration (MiddlewareConfigError's code). */
  CONFIG: 'BERTH_PROXY_MIDDLEWARE_CONFIG',
} as const;

/** Chains nest; a bound keeps a pathological body from exhausting the stack. */
const MAX_DEPTH = 64;

/** Why a middleware cannot be built; thrown by `get`, caught by the runtime builder. */
export class MiddlewareProblem extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Built = Middleware | MiddlewareProblem;

const NO_REFS: readonly string[] = [];
const NO_SERVICE_REFS: readonly (readonly [string, ServiceRuntime])[] = [];

/** What a build remembers of a middleware: its configuration, and the middlewares it resolved (a chain's members). */
export interface MiddlewareMemo {
  config: unknown;
  built: Middleware;
  refs: readonly (readonly [string, Built])[];
  /** The services it named (an errors page) and the runtimes they resolved to. */
  services: readonly (readonly [string, ServiceRuntime])[];
}

/** The services of the build a registry belongs to, by reference (`name` or `name@provider`). */
export type ServiceLookup = (ref: string) => ServiceRuntime | undefined;

const NO_SERVICES: ServiceLookup = () => undefined;

export class MiddlewareRegistry {
  readonly #config: Readonly<Record<string, HttpMiddleware>>;
  readonly #factories: MiddlewareFactories;
  readonly #logger: Logger;
  readonly #built = new Map<string, Built>();
  readonly #building = new Set<string>();
  readonly #previous: ReadonlyMap<string, MiddlewareMemo> | undefined;
  readonly #services: ServiceLookup;
  /** Every middleware built or reused by this registry, for the next snapshot's. */
  readonly memo = new Map<string, MiddlewareMemo>();
  /**
   * Every middleware this registry resolved, built or not → the references it resolved (a chain's
   * members): a change to one of those must rebuild it.
   */
  readonly refs = new Map<string, readonly string[]>();

  /**
   * `previous`: the memo of the live runtime's registry. A middleware whose configuration is
   * unchanged and whose members resolve to the very instances they did is reused, with its state
   * (rate limits, circuit breakers, in-flight counts).
   */
  constructor(
    config: Readonly<Record<string, HttpMiddleware>>,
    factories: MiddlewareFactories,
    logger: Logger,
    previous?: ReadonlyMap<string, MiddlewareMemo>,
    services: ServiceLookup = NO_SERVICES,
  ) {
    this.#config = config;
    this.#factories = factories;
    this.#logger = logger;
    this.#previous = previous;
    this.#services = services;
  }

  /** The middleware named `ref` (`name` or `name@provider`), built once; throws MiddlewareProblem. */
  get(ref: string): Middleware {
    const name = resolveName(ref, (key) => Object.hasOwn(this.#config, key)) ?? ref;
    let built = this.#built.get(name);
    if (built === undefined) {
      if (this.#building.has(name)) {
        throw new MiddlewareProblem(MiddlewareProblemCodes.CYCLE, `middleware "${name}" includes itself`);
      }
      if (this.#building.size >= MAX_DEPTH) {
        throw new MiddlewareProblem(
          MiddlewareProblemCodes.CYCLE,
          `chains nest deeper than ${MAX_DEPTH} levels`,
        );
      }
      this.#building.add(name);
      built = this.#reuse(name) ?? this.#build(name);
      this.refs.set(name, this.#lastRefs);
      this.#building.delete(name);
      this.#built.set(name, built);
    }
    if (built instanceof MiddlewareProblem) throw built;
    return built;
  }

  /** `get` without throwing: the instance or the problem. */
  #resolve(ref: string): Built {
    try {
      return this.get(ref);
    } catch (err) {
      if (err instanceof MiddlewareProblem) return err;
      throw err;
    }
  }

  /** The references the last `#reuse` or `#build` resolved. */
  #lastRefs: readonly string[] = [];

  #reuse(name: string): Middleware | undefined {
    const prev = this.#previous?.get(name);
    if (prev === undefined) return undefined;
    const config = Object.hasOwn(this.#config, name) ? this.#config[name] : undefined;
    if (!(prev.config === config || jsonEqual(prev.config, config))) return undefined;
    for (const [ref, built] of prev.refs) if (this.#resolve(ref) !== built) return undefined;
    // A rebuilt service is a new runtime: whatever calls it must be built again to call the new one.
    for (const [ref, runtime] of prev.services) if (this.#services(ref) !== runtime) return undefined;
    this.memo.set(name, prev.config === config ? prev : { ...prev, config });
    this.#lastRefs = prev.refs.length === 0 ? NO_REFS : prev.refs.map(([ref]) => ref);
    return prev.built;
  }

  #build(name: string): Built {
    const refs: [string, Built][] = [];
    try {
      return this.#make(name, refs, []);
    } finally {
      this.#lastRefs = refs.length === 0 ? NO_REFS : refs.map(([ref]) => ref);
    }
  }

  #make(name: string, refs: [string, Built][], services: [string, ServiceRuntime][]): Built {
    const config = Object.hasOwn(this.#config, name) ? this.#config[name] : undefined;
    if (typeof config !== 'object' || config === null) {
      return new MiddlewareProblem(MiddlewareProblemCodes.MISSING, `middleware "${name}" does not exist`);
    }
    const kinds = (Object.keys(config) as (keyof HttpMiddleware)[]).filter((k) => config[k] !== undefined);
    const kind = kinds[0];
    if (kind === undefined || kinds.length !== 1) {
      return new MiddlewareProblem(
        MiddlewareProblemCodes.CONFIG,
        `middleware "${name}" must have exactly one kind, found ${kinds.length ? kinds.join(', ') : 'none'}`,
      );
    }
    const factory = this.#factories[kind];
    if (factory === undefined) {
      return new MiddlewareProblem(
        MiddlewareProblemCodes.UNSUPPORTED,
        `middleware "${name}": kind "${kind}" is not supported by this node`,
      );
    }
    try {
      const built = factory(config[kind] as NonNullable<HttpMiddleware[keyof HttpMiddleware]>, {
        name,
        logger: this.#logger.child({ middleware: name }),
        resolve: (other) => {
          const member = this.#resolve(other);
          refs.push([other, member]);
          if (member instanceof MiddlewareProblem) throw member;
          return member;
        },
        service: (ref) => {
          const runtime = this.#services(ref);
          if (runtime === undefined)
            throw new MiddlewareProblem(MiddlewareProblemCodes.MISSING, `service "${ref}" does not exist`);
          services.push([ref, runtime]);
          return runtime.handler;
        },
      });
      this.memo.set(name, {
        config,
        built,
        refs,
        services: services.length === 0 ? NO_SERVICE_REFS : services,
      });
      return built;
    } catch (err) {
      if (err instanceof MiddlewareProblem) {
        // A chain is as broken as the member it cannot build.
        return new MiddlewareProblem(err.code, `middleware "${name}": ${err.message}`);
      }
      const message = err instanceof Error ? err.message : String(err);
      return new MiddlewareProblem(
        err instanceof MiddlewareConfigError ? err.code : MiddlewareProblemCodes.CONFIG,
        `middleware "${name}": ${message}`,
      );
    }
  }
}
