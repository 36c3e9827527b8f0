// Where validation problems go: located by path, tagged with their source, and scoped per element.
import { type ConfigErrorCode, configError } from '../errors.js';
import type { ConfigError, Source } from '../model.js';

export interface ValidateOptions {
  /**
   * Maps a path in the raw input to where it was written. Path segments are the keys exactly as
   * they appear in the input (`HTTP`, `Routers`, `web`, ...) and array indices as strings, so a
   * provider can look them up in its own document. Tried from the most specific path upwards.
   */
  sourceOf?: (path: string[]) => Source | undefined;
  /**
   * Elements read before, by raw input object: a provider that re-reads a big input and hands
   * over the same raw objects for what did not change (the file provider's incremental parse)
   * gets the same validated objects back without reading them again, so later stages recognise
   * them by identity. Only elements read without any report are kept. Raw objects must not be
   * mutated once read.
   */
  memo?: ValidationMemo;
}

/** See `ValidateOptions.memo`; keyed by the raw element, checked against where it was read. */
export type ValidationMemo = WeakMap<object, { where: string; name: string; value: unknown }>;

export interface Validated<T> {
  config: T;
  errors: ConfigError[];
}

/** A position in the input: canonical names for the error's dotted path, raw keys for sourceOf. */
export class Trail {
  private constructor(
    readonly canonical: readonly string[],
    readonly raw: readonly string[],
  ) {}

  static root(): Trail {
    return new Trail([], []);
  }

  child(canonical: string, raw: string = canonical): Trail {
    return new Trail([...this.canonical, canonical], [...this.raw, raw]);
  }

  get dotted(): string {
    return this.canonical.join('.');
  }
}

/** Anything problems can be reported to: the whole run, or one element that fails as a unit. */
export interface Problems {
  report(code: ConfigErrorCode, at: Trail, message: string): void;
  /** A warning (severity 'warning'): told, never a reason to drop the element. */
  warn(code: ConfigErrorCode, at: Trail, message: string): void;
}

export class Reporter implements Problems {
  readonly errors: ConfigError[] = [];

  constructor(
    private readonly sourceOf: ValidateOptions['sourceOf'],
    readonly memo?: ValidationMemo,
  ) {}

  report(code: ConfigErrorCode, at: Trail, message: string): void {
    this.errors.push(configError(code, at.dotted, message, this.locate(at.raw)));
  }

  /** A problem that changes nothing: the element works without what the warning names. */
  warn(code: ConfigErrorCode, at: Trail, message: string): void {
    this.errors.push({ ...configError(code, at.dotted, message, this.locate(at.raw)), severity: 'warning' });
  }

  /** Opens a scope whose problems are reported as usual and also mark the element as dropped. */
  element(): Element {
    return new Element(this);
  }

  private locate(raw: readonly string[]): Source | undefined {
    if (this.sourceOf === undefined) return undefined;
    // A missing field has no source of its own; the element that lacks it is the next best place.
    for (let length = raw.length; length >= 0; length--) {
      const source = this.sourceOf(raw.slice(0, length));
      if (source !== undefined) return source;
    }
    return undefined;
  }
}

export class Element implements Problems {
  private failed = false;

  constructor(private readonly parent: Problems) {}

  get ok(): boolean {
    return !this.failed;
  }

  report(code: ConfigErrorCode, at: Trail, message: string): void {
    this.failed = true;
    this.parent.report(code, at, message);
  }

  /** Told, and the element is kept. */
  warn(code: ConfigErrorCode, at: Trail, message: string): void {
    this.parent.warn(code, at, message);
  }
}
