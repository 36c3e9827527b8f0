// Finds the running berth process on this host (or in this container) by its /proc entry.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../output.js';
import { type BerthInvocation, berthInvocation, SERVING_COMMANDS } from './health-target.js';

export const NO_BERTH_PROCESS = 'BERTH_CLI_NO_BERTH_PROCESS';

export interface BerthProcess {
  pid: number;
  invocation: BerthInvocation;
}

export interface FindOptions {
  /** Look at this process only. */
  pid?: number;
  /** This process: never the answer. */
  self?: number;
  /** Where procfs is mounted; tests use a directory of their own. */
  procRoot?: string;
}

/** The argv of a process, or null when it is gone or unreadable. */
async function argvOf(procRoot: string, pid: number): Promise<string[] | null> {
  try {
    const raw = await readFile(join(procRoot, String(pid), 'cmdline'), 'utf8');
    const argv = raw.split('\0');
    if (argv.at(-1) === '') argv.pop();
    return argv;
  } catch {
    return null;
  }
}

/**
 * The berth process to ask: `pid` when given; else pid 1 when it runs `berth controller`, `proxy`
 * or `up` (a container's main process); else the lowest pid running `berth controller` or `berth
 * proxy`, never `self`.
 */
export async function findBerthProcess(opts: FindOptions = {}): Promise<BerthProcess> {
  const procRoot = opts.procRoot ?? '/proc';
  const self = opts.self ?? process.pid;
  if (opts.pid !== undefined) {
    const argv = await argvOf(procRoot, opts.pid);
    if (argv === null) throw new CliError(NO_BERTH_PROCESS, `no process ${opts.pid}`);
    const invocation = berthInvocation(argv);
    if (invocation === null)
      throw new CliError(
        NO_BERTH_PROCESS,
        `process ${opts.pid} is not berth: ${argv.join(' ').slice(0, 200)}`,
      );
    return { pid: opts.pid, invocation };
  }
  const first = await argvOf(procRoot, 1);
  const init = first && berthInvocation(first);
  if (init && (SERVING_COMMANDS as readonly string[]).includes(init.command) && self !== 1)
    return { pid: 1, invocation: init };
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch (err) {
    throw new CliError(
      NO_BERTH_PROCESS,
      `cannot list processes in ${procRoot} (${(err as { code?: string }).code ?? 'unreadable'}): give --url`,
    );
  }
  const pids = entries
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((p) => p !== self && p !== 1)
    .sort((a, b) => a - b);
  for (const pid of pids) {
    const argv = await argvOf(procRoot, pid);
    const invocation = argv && berthInvocation(argv);
    if (invocation && (invocation.command === 'controller' || invocation.command === 'proxy'))
      return { pid, invocation };
  }
  throw new CliError(NO_BERTH_PROCESS, 'no berth controller or proxy runs here: give --pid or --url');
}
