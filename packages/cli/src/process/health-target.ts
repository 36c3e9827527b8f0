// Which health endpoint a running berth process serves, read from its argv alone (pure: no I/O).
import { formatAddress, parseAddress } from '@berth/config';
import { parseApiAddress } from '../api-client.js';
import type { Command } from '../commands/command.js';
import { parseCommandArgs } from '../parse-args.js';

/** The commands whose processes serve a health endpoint. */
export const SERVING_COMMANDS = ['controller', 'proxy', 'up'] as const;
export type ServingCommand = (typeof SERVING_COMMANDS)[number];

export interface BerthInvocation {
  command: string;
  /** The arguments after the command name. */
  args: string[];
}

export type HealthTarget = { ok: true; url: string } | { ok: false; code: string; message: string };

export const NO_HEALTH_ENDPOINT = 'BERTH_CLI_NO_HEALTH_ENDPOINT';

/**
 * Whether a path is berth's entry script: the package's bin (`bin/berth.js`), a link to it named
 * `berth` (`node_modules/.bin/berth`, `/usr/local/bin/berth`), or the compiled CLI (`cli/dist/src/bin.js`).
 */
export function isBerthScript(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base === 'berth' || base === 'berth.js' || /(^|\/)cli\/dist\/src\/bin\.js$/.test(path);
}

/**
 * The berth command and its arguments in a process's argv (`/proc/<pid>/cmdline` split on NUL):
 * `node [node options] <berth script> <command> ...`, or `berth <command> ...` run through its
 * shebang. Null when the process is not berth, or runs no command.
 */
export function berthInvocation(argv: readonly string[]): BerthInvocation | null {
  const script = argv.findIndex(isBerthScript);
  if (script < 0) return null;
  const command = argv[script + 1];
  if (command === undefined || command.startsWith('-')) return null;
  return { command, args: argv.slice(script + 2) };
}

const WILDCARDS = new Set(['', '0.0.0.0', '::']);

/** `host:port` a server listens on → the URL of its /healthz from this host (a wildcard → loopback). */
function healthUrlOf(host: string, port: number): string {
  const dial = WILDCARDS.has(host) ? (host === '::' ? '::1' : '127.0.0.1') : host;
  return `http://${formatAddress({ host: dial, port })}/healthz`;
}

/**
 * The /healthz URL of a running `berth controller`, `berth up` (its controller's API) or `berth
 * proxy` (its `--metrics` server), from its arguments parsed with the command's own option table.
 * An error when the process serves none this host can reach by its argv.
 */
export function healthTarget(
  invocation: BerthInvocation,
  cmd: Pick<Command, 'name' | 'options' | 'positionals'>,
): HealthTarget {
  const fail = (code: string, message: string): HealthTarget => ({ ok: false, code, message });
  if (!(SERVING_COMMANDS as readonly string[]).includes(invocation.command))
    return fail(NO_HEALTH_ENDPOINT, `\`berth ${invocation.command}\` serves no health endpoint`);
  let values: Record<string, unknown>;
  try {
    values = parseCommandArgs(cmd, invocation.args).values;
  } catch (err) {
    return fail(
      'BERTH_CLI_BAD_FLAG',
      `cannot read the flags of \`berth ${invocation.command}\`: ${(err as Error).message}`,
    );
  }
  const flag = (name: string): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : (cmd.options[name]?.default ?? undefined);
  };
  let address: string;
  let what: string;
  if (invocation.command === 'proxy') {
    const metrics = flag('metrics');
    if (metrics === undefined)
      return fail(
        NO_HEALTH_ENDPOINT,
        'this proxy serves no health endpoint: start it with --metrics 127.0.0.1:9100',
      );
    address = metrics;
    what = '--metrics';
  } else {
    // The controller's API (and `berth up`'s controller's) answers /healthz without a token.
    const api = flag('api') ?? '127.0.0.1:7380';
    try {
      address = parseApiAddress(api).hostPort;
    } catch {
      return fail('BERTH_CLI_BAD_FLAG', `the process's --api '${api}' is not host:port or a URL`);
    }
    what = '--api';
  }
  const parsed = parseAddress(address);
  if (parsed === null)
    return fail('BERTH_CLI_BAD_FLAG', `the process's ${what} '${address}' is not host:port`);
  if (parsed.port === 0)
    return fail(
      NO_HEALTH_ENDPOINT,
      `the process's ${what} has port 0 (chosen when it started): give its address with --url`,
    );
  return { ok: true, url: healthUrlOf(parsed.host, parsed.port) };
}
