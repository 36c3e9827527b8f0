// Secrets for the command line's flags: from a file or the environment, never from argv (every local user reads /proc/PID/cmdline).
import { readFileSync, statSync } from 'node:fs';
import { CliError } from './output.js';

/** A warning with a stable code; where it goes (a log line, stderr) is the command's choice. */
export type Warn = (code: string, message: string) => void;

export interface SecretFlags {
  /** The flag that takes the secret itself, e.g. `join`. */
  flag: string;
  /** The flag that takes a file holding it, e.g. `join-file`. */
  fileFlag: string;
  /** The environment variable, e.g. `BERTH_JOIN_TOKEN`. */
  env: string;
}

export const SecretCodes = {
  /** The secret was given on the command line, where `ps` shows it to every local user. */
  IN_ARGS: 'BERTH_CLI_SECRET_IN_ARGS',
  /** The secret's file can be read by its group or by others. */
  FILE_MODE: 'BERTH_CLI_SECRET_FILE_MODE',
  /** The secret's file cannot be read, or is empty. */
  FILE: 'BERTH_CLI_SECRET_FILE',
} as const;

/**
 * The secret from `--<fileFlag>`, `--<flag>` or the environment, in that order of preference
 * (giving both flags is an error); warns when it came from argv or from a file others can read.
 */
export function readSecret(values: Record<string, unknown>, f: SecretFlags, warn: Warn): string | undefined {
  const inline = values[f.flag];
  const file = values[f.fileFlag];
  if (typeof inline === 'string' && typeof file === 'string')
    throw new CliError('BERTH_CLI_BAD_FLAG', `give --${f.flag} or --${f.fileFlag}, not both`);
  if (typeof file === 'string') return readSecretFile(file, f, warn);
  if (typeof inline === 'string') {
    warn(
      SecretCodes.IN_ARGS,
      `--${f.flag} shows the secret to every local user (ps, /proc/PID/cmdline): use --${f.fileFlag} PATH or ${f.env}`,
    );
    hideFromProcessList(inline);
    return inline;
  }
  const fromEnv = process.env[f.env];
  return fromEnv ? fromEnv : undefined;
}

/**
 * Rewrites this process's arguments as `ps` shows them, the secret replaced by `***`. On Linux,
 * setting the title overwrites the argv memory /proc/PID/cmdline reads; it only shortens the
 * exposure (the secret was readable from exec until now, and stays in shell history), so the
 * warning stands.
 */
function hideFromProcessList(secret: string): void {
  if (secret === '') return;
  try {
    process.title = process.argv.map((a) => a.split(secret).join('***')).join(' ');
  } catch {
    // Some platforms cannot set a title: the warning already said what to do.
  }
}

function readSecretFile(path: string, f: SecretFlags, warn: Warn): string {
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    const cause = (err as { code?: string }).code ?? (err as Error).message;
    throw new CliError(SecretCodes.FILE, `--${f.fileFlag}: cannot read ${path} (${cause})`);
  }
  if (text === '') throw new CliError(SecretCodes.FILE, `--${f.fileFlag}: ${path} is empty`);
  if ((mode & 0o077) !== 0) {
    warn(
      SecretCodes.FILE_MODE,
      `--${f.fileFlag}: ${path} can be read by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 ${path}`,
    );
  }
  return text;
}

/** Prints a warning for people on stderr, the way errors are printed: `berth <cmd>: warning: ... [CODE]`. */
export function stderrWarn(command: string): Warn {
  return (code, message) => process.stderr.write(`berth ${command}: warning: ${message} [${code}]\n`);
}
