// Starts berth processes as children and stops every one of them, even when the parent fails.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Absolute path of the `berth` entry script, to run it as `node <berthBin> ...`. */
export const berthBin = fileURLToPath(new URL('../bin.js', import.meta.url));

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** Everything the child wrote to stdout and stderr so far (bounded). */
  output(): string;
}

export interface SpawnOptions {
  /** Also append the child's output to this file. */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const MAX_CAPTURE = 4 * 1024 * 1024;

export class ChildGroup {
  readonly #children = new Set<Child>();
  readonly #onExit = () => {
    for (const c of this.#children) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  constructor() {
    process.once('exit', this.#onExit);
  }

  /** Runs `node <berthBin> ...args`. */
  berth(name: string, args: string[], opts: SpawnOptions = {}): Child {
    return this.spawn(name, process.execPath, [berthBin, ...args], opts);
  }

  spawn(name: string, command: string, args: string[], opts: SpawnOptions = {}): Child {
    const proc = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    if (proc.pid === undefined) throw new Error(`cannot start ${name}: ${command}`);
    let captured = '';
    let log: WriteStream | null = null;
    if (opts.logFile) log = createWriteStream(opts.logFile, { flags: 'a' });
    const onData = (chunk: Buffer) => {
      if (captured.length < MAX_CAPTURE) captured += chunk.toString('utf8');
      log?.write(chunk);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    const exited = new Promise<number | string>((resolve) => {
      proc.once('exit', (code, signal) => {
        this.#children.delete(child);
        log?.end();
        resolve(code ?? signal ?? -1);
      });
    });
    const child: Child = { name, proc, pid: proc.pid, exited, output: () => captured };
    this.#children.add(child);
    return child;
  }

  get children(): Child[] {
    return [...this.#children];
  }

  /** Sends `signal`, waits up to `timeoutMs`, then SIGKILLs what is left. */
  async stop(child: Child, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
    if (!this.#children.has(child)) return;
    try {
      child.proc.kill(signal);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => child.proc.kill('SIGKILL'), timeoutMs);
    await child.exited;
    clearTimeout(timer);
  }

  async stopAll(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
    await Promise.all([...this.#children].map((c) => this.stop(c, signal, timeoutMs)));
    process.off('exit', this.#onExit);
  }
}

/** Polls a JSON file until `ready(value)` holds; throws with `describe()` after `timeoutMs`. */
export async function waitForJsonFile<T>(
  path: string,
  ready: (value: T) => boolean,
  timeoutMs = 15_000,
  describe: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = JSON.parse(await readFile(path, 'utf8')) as T;
      last = value;
      if (ready(value)) return value;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${path} (last: ${JSON.stringify(last)})\n${describe()}`,
  );
}
