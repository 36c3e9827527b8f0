// `--entrypoint name=address`, shared by `berth controller` and `berth proxy`; imports nothing heavy.
import { CliError } from '../output.js';

export function parseEntryPointFlags(flags: string[]): Record<string, { address: string }> {
  const out: Record<string, { address: string }> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new CliError('BERTH_CLI_BAD_FLAG', `--entrypoint expects name=address, got '${f}'`);
    out[f.slice(0, eq)] = { address: f.slice(eq + 1) };
  }
  return out;
}
