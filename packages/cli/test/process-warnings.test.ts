// Node's own warnings in a controller, a proxy node and its workers are JSON log lines, not plain text on stderr.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../src/bin.js', import.meta.url));
// Emits a deprecation warning once the command has started, as a dependency of Berth's would.
// (URL-encoded: NODE_OPTIONS splits on spaces.)
const preload = `data:text/javascript,${encodeURIComponent(
  "setTimeout(() => process.emitWarning('a test warning', { type: 'DeprecationWarning', code: 'DEP0999' }), 1500).unref();",
)}`;

interface Run {
  proc: ChildProcess;
  out: () => string;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const proc = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, NODE_OPTIONS: `--import=${preload}` },
  });
  let text = '';
  proc.stdout?.on('data', (c: Buffer) => {
    text += c.toString();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { proc, out: () => text };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function warningLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.includes('a test warning'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function stop(run: Run): Promise<void> {
  if (run.proc.exitCode !== null || run.proc.signalCode !== null) return;
  const exited = new Promise((r) => run.proc.once('exit', r));
  run.proc.kill('SIGTERM');
  await exited;
}

describe("Node's process warnings", () => {
  const runs: Run[] = [];
  let dir = '';
  after(async () => {
    await Promise.all(runs.map(stop));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('are logged as JSON by the controller, the proxy node and its worker, never as plain text', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-warnings-'));
    const ready = join(dir, 'ready.json');
    const controller = start([
      'controller',
      '--data-dir',
      join(dir, 'controller'),
      '--listen',
      '127.0.0.1:0',
      '--api',
      '127.0.0.1:0',
      '--entrypoint',
      'web=127.0.0.1:0',
      '--ready-file',
      ready,
    ]);
    runs.push(controller);
    let token = '';
    await until('the controller', async () => {
      try {
        token = (JSON.parse(await readFile(ready, 'utf8')) as { token: string }).token;
        return true;
      } catch {
        return false;
      }
    });
    const node = start(
      [
        'proxy',
        '--name',
        'warned',
        '--data-dir',
        join(dir, 'node'),
        '--workers',
        '1',
        '--entrypoint',
        'web=127.0.0.1:0',
      ],
      { BERTH_JOIN_TOKEN: token },
    );
    runs.push(node);
    await until('the controller warning', () => warningLines(controller.out()).length === 1);
    // The node's primary and its worker each emit one.
    await until('the node warnings', () => warningLines(node.out()).length === 2);
    for (const run of [controller, node]) {
      for (const line of warningLines(run.out())) {
        assert.equal(line['level'], 40);
        assert.deepEqual(line['warning'], {
          name: 'DeprecationWarning',
          code: 'DEP0999',
          message: 'a test warning',
        });
      }
      for (const line of run.out().split('\n').filter(Boolean)) {
        assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
      }
    }
    assert.ok(
      warningLines(node.out()).some((l) => l['worker'] !== undefined),
      node.out(),
    );
  });
});
