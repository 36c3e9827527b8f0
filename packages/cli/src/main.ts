// Dispatch and help: each subcommand lives in commands/<name>.ts, loaded only when it runs.
import { COMMANDS } from './command-table.js';
import type { Command } from './commands/command.js';
import { CliError } from './output.js';
import { type ParsedArgs, parseCommandArgs } from './parse-args.js';

function usage(): string {
  const visible = COMMANDS.filter((c) => !c.hidden);
  const width = Math.max(...visible.map((c) => c.name.length));
  return [
    'berth: an edge load balancer for containers',
    '',
    'Usage: berth <command> [options]',
    '',
    'Commands:',
    ...visible.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `berth <command> --help` for the options of a command.',
  ].join('\n');
}

export function commandHelp(cmd: Command): string {
  const lines = [`Usage: berth ${cmd.name} ${cmd.usage ?? '[options]'}`, '', cmd.summary, '', 'Options:'];
  const opts = Object.entries(cmd.options);
  const labels = opts.map(([name, o]) =>
    o.bare !== undefined
      ? `--${name}[=<${o.arg ?? 'value'}>]`
      : `--${name}${o.type === 'string' ? ` <${o.arg ?? 'value'}>` : ''}`,
  );
  const width = Math.max(10, ...labels.map((l) => l.length));
  opts.forEach(([, o], i) => {
    lines.push(
      `  ${(labels[i] ?? '').padEnd(width)}  ${o.help}${o.default !== undefined ? ` (default: ${o.default})` : ''}`,
    );
  });
  lines.push(`  ${'--help'.padEnd(width)}  show this help`);
  if (cmd.examples?.length) lines.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 1;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write('berth 0.1.0\n');
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`berth: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  const cmd = await entry.load();
  let parsed: ParsedArgs;
  try {
    parsed = parseCommandArgs(cmd, rest);
  } catch (err) {
    process.stderr.write(`berth ${name}: ${(err as Error).message}\n\n${commandHelp(cmd)}\n`);
    return cmd.usageExitCode ?? 2;
  }
  if (parsed.values['help']) {
    process.stdout.write(`${commandHelp(cmd)}\n`);
    return 0;
  }
  try {
    return await cmd.run(parsed.values, parsed.positionals);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`berth ${name}: ${err.message} [${err.code}]\n`);
      return 1;
    }
    throw err;
  }
}
