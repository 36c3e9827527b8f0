// Runs Docker Compose v1 (Debian's `docker-compose`) on deploy/compose.yaml against the harness's dockerd.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './berth-image.js';

export const COMPOSE_FILE = join(REPO_ROOT, 'deploy', 'compose.yaml');

/** The compose binary on PATH, or null: `docker-compose` (v1) first, then `docker compose` (v2). */
export async function findCompose(): Promise<string[] | null> {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'docker-compose'))) return ['docker-compose'];
  }
  const v2 = await run(['docker', 'compose', 'version'], {}, 20_000).catch(() => null);
  return v2?.code === 0 ? ['docker', 'compose'] : null;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with a time limit; resolves with its exit code and output (never rejects on exit code). */
export function run(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  const [cmd, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        env: { ...process.env, ...env },
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') {
          reject(new Error(`${argv.join(' ')}: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
      },
    );
  });
}

export interface ComposeProject {
  /** Runs `compose <args>` for this project; throws with the output unless it exits 0. */
  (args: string[], timeoutMs?: number): Promise<string>;
  readonly projectName: string;
}

/**
 * A compose project on deploy/compose.yaml plus `overrides` (files layered on top, as users do),
 * with variables from `envFile` only (a developer's deploy/.env is never read).
 */
export function composeProject(
  compose: string[],
  opts: { name: string; overrides: string[]; envFile: string; env: NodeJS.ProcessEnv },
): ComposeProject {
  const base = [
    ...compose,
    '--project-name',
    opts.name,
    '--env-file',
    opts.envFile,
    '-f',
    COMPOSE_FILE,
    ...opts.overrides.flatMap((f) => ['-f', f]),
  ];
  const fn = async (args: string[], timeoutMs = 180_000) => {
    const res = await run([...base, ...args], opts.env, timeoutMs);
    if (res.code !== 0)
      throw new Error(
        `${compose.join(' ')} ${args.join(' ')} exited with ${res.code}:\n${res.stdout}\n${res.stderr}`,
      );
    return res.stdout;
  };
  return Object.assign(fn, { projectName: opts.name });
}
