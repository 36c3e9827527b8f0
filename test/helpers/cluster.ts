// Starts a real controller and real proxy nodes as child processes on loopback, and tears them all down.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthBin, type Child, ChildGroup, waitForJsonFile } from '@berth/cli';

export interface ControllerInfo {
  child: Child;
  api: string;
  token: string;
  /** Port of the node channel, to restart the controller where nodes look for it. */
  nodesPort: number;
}

export interface NodeStatus {
  pid: number;
  nodeId: string;
  name: string;
  appliedVersion: number;
  appliedEpoch: string;
  fromCache: boolean;
  listeners: {
    entryPoint: string;
    address: string;
    state?: 'bound' | 'retrying';
    error?: { code: string; message: string };
  }[];
  /** Present when the node runs worker processes (`workers` > 0). */
  workers?: WorkerStatus[];
}

export interface WorkerStatus {
  slot: number;
  pid: number;
  state: 'starting' | 'ready' | 'serving';
  appliedVersion: number;
  appliedHash: string | null;
  restarts: number;
}

export interface StartNodeOptions {
  token?: string;
  waitApplied?: boolean;
  /** Worker processes (`--workers`); default 0, serving in the node process, which keeps tests quick. */
  workers?: number;
  /** More `berth proxy` flags. */
  extraArgs?: string[];
}

export interface NodeInfo {
  name: string;
  child: Child;
  statusFile: string;
  dataDir: string;
}

export interface StartControllerOptions {
  /** Static config file contents (YAML); default declares entry point `web`. */
  staticYaml?: string;
  /** Reuse this node-channel port (a restart). */
  nodesPort?: number;
  extraArgs?: string[];
  /** Open-file limit (soft and hard) of the controller process, set with prlimit(1). */
  fdLimit?: number;
}

/** Milliseconds between controller heartbeats in tests, so dead links are found quickly. */
export const TEST_HEARTBEAT_MS = 300;

export class Cluster {
  readonly group = new ChildGroup();
  readonly dir: string;
  readonly dynamicDir: string;
  readonly staticFile: string;
  controller: ControllerInfo | null = null;
  readonly nodes = new Map<string, NodeInfo>();

  private constructor(dir: string) {
    this.dir = dir;
    this.dynamicDir = join(dir, 'dynamic');
    this.staticFile = join(dir, 'berth.yaml');
  }

  static async create(): Promise<Cluster> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-'));
    const c = new Cluster(dir);
    await mkdir(c.dynamicDir, { recursive: true });
    return c;
  }

  /** Writes (or replaces) a file of dynamic configuration; the controller watches the directory. */
  async writeDynamic(name: string, yaml: string): Promise<string> {
    const path = join(this.dynamicDir, name);
    await writeFile(path, yaml);
    return path;
  }

  async writeStatic(yaml: string): Promise<void> {
    await writeFile(this.staticFile, yaml);
  }

  async startController(opts: StartControllerOptions = {}): Promise<ControllerInfo> {
    await this.writeStatic(
      opts.staticYaml ??
        'entryPoints:\n  web:\n    address: "127.0.0.1:0"\nproviders:\n  file:\n    directory: ./dynamic\n',
    );
    const readyFile = join(this.dir, `controller-ready-${Date.now()}.json`);
    const args = [
      'controller',
      '--config',
      this.staticFile,
      '--data-dir',
      join(this.dir, 'controller'),
      '--listen',
      `127.0.0.1:${opts.nodesPort ?? 0}`,
      '--api',
      '127.0.0.1:0',
      '--ready-file',
      readyFile,
      '--heartbeat-ms',
      String(TEST_HEARTBEAT_MS),
      ...(opts.extraArgs ?? []),
    ];
    // prlimit execs the command, so the pid stays the controller's.
    const child =
      opts.fdLimit === undefined
        ? this.group.berth('controller', args)
        : this.group.spawn('controller', 'prlimit', [
            `--nofile=${opts.fdLimit}:${opts.fdLimit}`,
            '--',
            process.execPath,
            berthBin,
            ...args,
          ]);
    const ready = await Promise.race([
      waitForJsonFile<{ pid: number; api: string; nodes: string; token: string }>(
        readyFile,
        (r) => r.pid === child.pid,
        20_000,
        () => child.output(),
      ),
      child.exited.then((code) => {
        throw new Error(`controller exited with ${code}:\n${child.output()}`);
      }),
    ]);
    this.controller = {
      child,
      api: ready.api,
      token: ready.token,
      nodesPort: Number(new URL(ready.nodes).port),
    };
    return this.controller;
  }

  /** Starts a node whose `web` entry point listens on a free loopback port. */
  async startNode(name: string, opts: StartNodeOptions = {}): Promise<NodeInfo> {
    const token = opts.token ?? this.controller?.token;
    if (!token) throw new Error('start the controller first, or pass a token');
    const dataDir = join(this.dir, name);
    const statusFile = join(dataDir, 'status.json');
    await rm(statusFile, { force: true });
    const child = this.group.berth(
      name,
      [
        'proxy',
        '--name',
        name,
        '--data-dir',
        dataDir,
        '--entrypoint',
        'web=127.0.0.1:0',
        '--status-file',
        statusFile,
        '--heartbeat-ms',
        String(TEST_HEARTBEAT_MS),
        '--reconnect-max-ms',
        '1000',
        '--workers',
        String(opts.workers ?? 0),
        ...(opts.extraArgs ?? []),
      ],
      { env: { ...process.env, BERTH_JOIN_TOKEN: token } },
    );
    const node: NodeInfo = { name, child, statusFile, dataDir };
    this.nodes.set(name, node);
    if (opts.waitApplied !== false) await this.nodeStatus(name, (s) => s.appliedVersion > 0);
    return node;
  }

  /** Waits until the node's status file satisfies `ready`, and returns it. */
  async nodeStatus(
    name: string,
    ready: (s: NodeStatus) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<NodeStatus> {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    return waitForJsonFile<NodeStatus>(
      node.statusFile,
      (s) => s.pid === node.child.pid && ready(s),
      timeoutMs,
      () => node.child.output(),
    );
  }

  /** The port a node's `web` entry point listens on now. */
  async webPort(name: string): Promise<number> {
    const status = await this.nodeStatus(name);
    const web = status.listeners.find((l) => l.entryPoint === 'web');
    if (!web) throw new Error(`node ${name} has no web listener: ${JSON.stringify(status)}`);
    return Number(web.address.slice(web.address.lastIndexOf(':') + 1));
  }

  async api<T>(path: string): Promise<T> {
    if (!this.controller) throw new Error('no controller');
    const res = await fetch(new URL(path, this.controller.api));
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async killController(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.controller) await this.group.stop(this.controller.child, signal);
  }

  async stopNode(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const node = this.nodes.get(name);
    if (node) await this.group.stop(node.child, signal);
  }

  /** Everything every process printed, for failure messages. */
  logs(): string {
    return this.group.children.map((c) => `----- ${c.name} (pid ${c.pid})\n${c.output()}`).join('\n');
  }

  async close(): Promise<void> {
    await this.group.stopAll('SIGTERM', 3000);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Polls `check` until it returns a truthy value; throws with `describe()` after the timeout (it may
 * be async, e.g. to read a container's logs; its own failure is quoted instead).
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 15_000,
  describe: () => string | Promise<string> = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let described: string;
  try {
    described = await describe();
  } catch (err) {
    described = `(cannot describe: ${String(err)})`;
  }
  throw new Error(
    `condition not met within ${timeoutMs} ms${lastErr ? ` (last error: ${String(lastErr)})` : ''}\n${described}`,
  );
}

/** Dynamic configuration with one router `app` (Host `app.test`, or `hosts`) to one service of `servers`. */
export function singleRouteYaml(servers: string[], hosts: string[] = ['app.test']): string {
  return `http:
  routers:
${hosts.map((h, i) => `    ${i === 0 ? 'app' : `app-${i}`}:\n      rule: Host(\`${h}\`)\n      service: app`).join('\n')}
  services:
    app:
      loadBalancer:
        servers:
${servers.map((s) => `          - url: ${s}`).join('\n')}
`;
}
