// Starts the processes under test pinned to a CPU, captures their output, and stops each one by pid.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

const MAX_CAPTURE = 8 * 1024 * 1024;
const running = new Set();

/** Last-resort cleanup: whatever is still running when the harness exits is killed by its pid. */
function killAll() {
  for (const p of running) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.once('exit', killAll);

/**
 * Runs `command args` under `taskset -c cpu` (taskset execs the command, so the pid is the
 * command's own and children inherit the affinity). `onLine` sees every stdout/stderr line.
 */
export function startProcess(name, command, args, { cpu, env, cwd, onLine } = {}) {
  const argv = cpu === undefined ? [command, ...args] : ['taskset', '-c', String(cpu), command, ...args];
  const proc = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ?? process.env,
    ...(cwd ? { cwd } : {}),
  });
  if (proc.pid === undefined) throw new Error(`cannot start ${name}: ${argv.join(' ')}`);
  let captured = '';
  const lineBuffers = { stdout: '', stderr: '' };
  const feed = (stream) => (chunk) => {
    const text = chunk.toString('utf8');
    if (captured.length < MAX_CAPTURE) captured += text;
    if (!onLine) return;
    const lines = (lineBuffers[stream] + text).split('\n');
    lineBuffers[stream] = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
  proc.stdout.on('data', feed('stdout'));
  proc.stderr.on('data', feed('stderr'));
  const child = {
    name,
    pid: proc.pid,
    proc,
    exitCode: null,
    exited: null,
    output: () => captured,
  };
  child.exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      running.delete(child);
      child.exitCode = code ?? signal ?? -1;
      resolve(child.exitCode);
    });
  });
  running.add(child);
  return child;
}

/** Sends `signal` to the child's pid, then SIGKILL after `timeoutMs`; resolves once it has exited. */
export async function stopProcess(child, signal = 'SIGTERM', timeoutMs = 5000) {
  if (!child || child.exitCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }, timeoutMs);
  await child.exited;
  clearTimeout(timer);
}

/** Runs a command to completion (bounded by `timeoutMs`) and returns its exit code and output. */
export async function runToEnd(command, args, { cpu, timeoutMs = 120_000 } = {}) {
  const child = startProcess(command, command, args, { cpu });
  const timer = setTimeout(() => void stopProcess(child, 'SIGKILL'), timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  return { code, output: child.output() };
}

/** Resolves when `check()` returns a truthy value; throws after `timeoutMs` with `describe()`. */
export async function waitFor(check, timeoutMs, describe = () => '', intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = null;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `not ready within ${timeoutMs} ms${lastErr ? ` (last error: ${lastErr.message})` : ''}\n${describe()}`,
  );
}

export { once };
