// The shape every subcommand module exports.
import { CliError } from '../output.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  help: string;
  arg?: string;
  multiple?: boolean;
  short?: string;
  default?: string;
  /** A string option that may also be given bare (`--docker`), meaning this value. */
  bare?: string;
}

export interface Command {
  name: string;
  summary: string;
  usage?: string;
  hidden?: boolean;
  positionals?: boolean;
  /** Exit status for flags the parser refuses; default 2. */
  usageExitCode?: number;
  options: Record<string, OptionSpec>;
  examples?: string[];
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
}

export function str(values: Record<string, unknown>, key: string): string | undefined {
  const v = values[key];
  return typeof v === 'string' ? v : undefined;
}

export function strs(values: Record<string, unknown>, key: string): string[] {
  const v = values[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * A `--*-ms` flag: a whole number of milliseconds, at least `min`; `fallback` when absent.
 * Anything else is the user's mistake, named (NaN would otherwise reach a timer as 1 ms).
 */
export function millis(values: Record<string, unknown>, key: string, fallback: number, min = 1): number {
  const text = str(values, key);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min)
    throw new CliError(
      'BERTH_CLI_BAD_FLAG',
      `--${key} must be a whole number of milliseconds ≥ ${min}, got "${text}"`,
    );
  return n;
}

export function bool(values: Record<string, unknown>, key: string): boolean {
  return values[key] === true;
}

/** Resolves when the process receives SIGINT or SIGTERM; returns the signal. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
