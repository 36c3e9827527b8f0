// Builds each named middleware of a snapshot once, on first use, and remembers why one cannot be built.
import type { HttpMiddleware } from '@berth/config';
import type { Logger } from 'pino';
import type { Middleware, MiddlewareFactory } from '../http/context.js';
import { MiddlewareConfigError } from '../http/context.js';
import { resolveName } from '../service/build-services.js';

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

export class MiddlewareRegistry {
  readonly #config: Readonly<Record<string, HttpMiddleware>>;
  readonly #factories: MiddlewareFactories;
  readonly #logger: Logger;
  readonly #built = new Map<string, Middleware | MiddlewareProblem>();
  readonly #building = new Set<string>();

  constructor(
    config: Readonly<Record<string, HttpMiddleware>>,
    factories: MiddlewareFactories,
    logger: Logger,
  ) {
    this.#config = config;
    this.#factories = factories;
    this.#logger = logger;
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
      built = this.#build(name);
      this.#building.delete(name);
      this.#built.set(name, built);
    }
    if (built instanceof MiddlewareProblem) throw built;
    return built;
  }

  #build(name: string): Middleware | MiddlewareProblem {
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
      return factory(config[kind] as NonNullable<HttpMiddleware[keyof HttpMiddleware]>, {
        name,
        logger: this.#logger.child({ middleware: name }),
        resolve: (other) => this.get(other),
      });
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
