// A command's argv to option values, by its option table: what `berth <command>` does, and what
// `berth healthcheck` does with the argv of a running berth process.
import { parseArgs } from 'node:util';
import type { Command } from './commands/command.js';

export interface ParsedArgs {
  values: Record<string, unknown>;
  positionals: string[];
}

/**
 * `--docker` alone becomes `--docker=<bare value>`: parseArgs has no optional values. For a command
 * without positionals, `--docker unix:///...` takes the next word as the value, as people type it.
 */
function withBareValues(args: readonly string[], cmd: Pick<Command, 'options' | 'positionals'>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') return [...out, ...args.slice(i)];
    const bare = arg.startsWith('--') ? cmd.options[arg.slice(2)]?.bare : undefined;
    if (bare === undefined) {
      out.push(arg);
      continue;
    }
    const next = args[i + 1];
    if (!cmd.positionals && next !== undefined && next !== '' && !next.startsWith('-')) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(`${arg}=${bare}`);
  }
  return out;
}

/** Parses `args` (after the command name) strictly by `cmd`'s options, plus `--help`; throws on a flag it refuses. */
export function parseCommandArgs(
  cmd: Pick<Command, 'options' | 'positionals'>,
  args: readonly string[],
): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [k, o] of Object.entries(cmd.options)) {
    options[k] = {
      type: o.type,
      ...(o.multiple ? { multiple: true } : {}),
      ...(o.short ? { short: o.short } : {}),
    };
  }
  return parseArgs({
    args: withBareValues(args, cmd),
    options,
    strict: true,
    allowPositionals: cmd.positionals ?? false,
  });
}
