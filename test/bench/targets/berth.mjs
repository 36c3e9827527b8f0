// Berth as users run it: a real controller and one proxy node, started through the CLI.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectOk, freePort } from '../lib/net.mjs';
import { startProcess, stopProcess, waitFor } from '../lib/processes.mjs';

export const name = 'berth';
export const label = 'Berth';

/** Generous: compiling 10,000 routes takes the controller tens of seconds on this machine. */
const READY_TIMEOUT_MS = 180_000;

let workersFlag;
/** `--workers 1` when this build's `berth proxy` has the flag (multi-core nodes), else nothing. */
function workersArgs(bin) {
  if (workersFlag === undefined) {
    let help = '';
    try {
      help = execFileSync(process.execPath, [bin, 'proxy', '--help'], { encoding: 'utf8', timeout: 10_000 });
    } catch (err) {
      help = `${err.stdout ?? ''}`;
    }
    workersFlag = /--workers\b/.test(help);
  }
  return workersFlag ? ['--workers', '1'] : [];
}

async function readJson(path) {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Starts controller (on the load CPU: it is idle under load) and node (on the proxy CPU) with
 * `routesYaml` as the only dynamic file; resolves once `host` answers 200 "ok" through the node.
 * `cpuProfDir` runs the node under `node --cpu-prof`, written when the node stops.
 */
export async function start(ctx, { host, routesYaml, cpuProfDir, tag = 'berth' }) {
  const dir = join(ctx.tmp, `${tag}-${Date.now()}`);
  const dynamicDir = join(dir, 'dynamic');
  await mkdir(dynamicDir, { recursive: true });
  const port = await freePort();
  const staticFile = join(dir, 'berth.yaml');
  await writeFile(
    staticFile,
    `entryPoints:\n  web:\n    address: "127.0.0.1:${port}"\naccessLog:\n  enabled: false\nproviders:\n  file:\n    directory: ./dynamic\n`,
  );
  const routesFile = join(dynamicDir, 'routes.yaml');
  await writeFile(routesFile, routesYaml);

  const bin = ctx.berthBin;
  const readyFile = join(dir, 'controller-ready.json');
  const controllerLines = [];
  const controller = startProcess(
    'berth-controller',
    process.execPath,
    [
      bin,
      'controller',
      '--config',
      staticFile,
      '--data-dir',
      join(dir, 'controller'),
      '--listen',
      '127.0.0.1:0',
      '--api',
      '127.0.0.1:0',
      '--ready-file',
      readyFile,
    ],
    { cpu: ctx.opts.loadCpu, onLine: (l) => controllerLines.push(l) },
  );
  const stopAll = [];
  const cleanup = async () => {
    for (const s of stopAll.reverse()) await s();
  };
  stopAll.push(() => stopProcess(controller, 'SIGTERM'));
  try {
    const ready = await waitFor(
      async () => {
        if (controller.exitCode !== null) throw new Error(`controller exited with ${controller.exitCode}`);
        const r = await readJson(readyFile);
        return r && r.pid === controller.pid ? r : null;
      },
      // A large first configuration is compiled before the ready file appears.
      READY_TIMEOUT_MS,
      () => controller.output(),
    );

    const statusFile = join(dir, 'node-status.json');
    const nodeLines = [];
    const nodeListeners = new Set();
    const nodeArgs = [
      ...(cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : []),
      bin,
      'proxy',
      '--name',
      'bench',
      '--data-dir',
      join(dir, 'node'),
      '--entrypoint',
      `web=127.0.0.1:${port}`,
      '--status-file',
      statusFile,
      // The profile must see the serving code: in process, not in a worker the profiler does not follow.
      ...(cpuProfDir && workersArgs(bin).length > 0 ? ['--workers', '0'] : workersArgs(bin)),
    ];
    const node = startProcess('berth-proxy', process.execPath, nodeArgs, {
      cpu: ctx.opts.proxyCpu,
      env: { ...process.env, BERTH_JOIN_TOKEN: ready.token },
      onLine: (l) => {
        if (nodeLines.length < 100_000) nodeLines.push(l);
        for (const f of nodeListeners) f(l);
      },
    });
    stopAll.push(() => stopProcess(node, 'SIGTERM', 15_000));
    await waitFor(
      async () => {
        if (node.exitCode !== null) throw new Error(`node exited with ${node.exitCode}`);
        const s = await readJson(statusFile);
        return s && s.appliedVersion > 0 && s.listeners?.some((l) => l.entryPoint === 'web');
      },
      READY_TIMEOUT_MS,
      () => `${controller.output().slice(-4000)}\n${node.output().slice(-4000)}`,
    );
    await expectOk(port, host, 30_000);

    const api = async (path) => {
      const res = await fetch(new URL(path, ready.api));
      if (!res.ok) throw new Error(`${path}: ${res.status}`);
      return res.json();
    };
    return {
      name,
      label,
      port,
      pid: node.pid,
      node,
      controller,
      api,
      routesFile,
      nodeLines,
      controllerLines,
      /** Subscribes to the node's output lines; returns the unsubscribe function. */
      onNodeLine(f) {
        nodeListeners.add(f);
        return () => nodeListeners.delete(f);
      },
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
