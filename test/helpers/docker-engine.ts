// A real Docker engine for end-to-end tests: uses one that answers, or starts its own dockerd, and builds a busybox image.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';

/** Where the harness keeps its own daemon: one fixed place, so a run finds (and reuses) a leftover one. */
export const HARNESS_ROOT = join(tmpdir(), 'berth-dockerd');

/**
 * The Swarm tests' own daemon: a second one, because Swarm mode refuses a daemon with
 * `--live-restore` (the restart test of the first needs it).
 */
export const SWARM_HARNESS_ROOT = join(tmpdir(), 'berth-dockerd-swarm');

/**
 * Flags of the harness's dockerd. `--live-restore` lets containers outlive a daemon restart (the
 * restart test needs that); its own data, exec root, pidfile and socket keep it apart from any
 * system daemon. No storage-driver or iptables override was needed on Debian 12 (overlay2, iptables).
 */
export function dockerdArgs(root: string, swarm = false): string[] {
  const mode = swarm
    ? [
        // Next to the other harness daemon: no default bridge (docker0 is the other's) and no iptables
        // rules (the chains are the other's too); published ports bind on loopback only.
        '--bridge=none',
        '--iptables=false',
        '--ip=127.0.0.1',
      ]
    : ['--live-restore'];
  return [
    '--data-root',
    join(root, 'data'),
    '--exec-root',
    join(root, 'exec'),
    '--pidfile',
    join(root, 'dockerd.pid'),
    '--host',
    `unix://${join(root, 'docker.sock')}`,
    ...mode,
    ...(process.env['BERTH_DOCKERD_FLAGS']?.split(/\s+/).filter(Boolean) ?? []),
  ];
}

export interface DockerEngine {
  /** `unix:///...` of the daemon in use. */
  endpoint: string;
  socketPath: string;
  docker: Docker;
  /** True when the daemon is the harness's own (started here, or a leftover of an earlier run). */
  ownDaemon: boolean;
  /** The harness's daemon, and no other live process uses it: only then may a test restart it. */
  soleUser(): Promise<boolean>;
  /** Stops and starts the harness's daemon (containers survive: `--live-restore`). Own daemon only. */
  restart(): Promise<void>;
  /** Stops the harness's daemon when no other process uses it; never stops a daemon it did not start. */
  release(): Promise<void>;
}

export type EngineResult = { ok: true; engine: DockerEngine } | { ok: false; reason: string };

async function answers(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  try {
    await new Docker({ socketPath, timeout: 2000 }).ping();
    return true;
  } catch {
    return false;
  }
}

function dockerdBinary(): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    if (dir && existsSync(join(dir, 'dockerd'))) return join(dir, 'dockerd');
  }
  return null;
}

async function readPid(root: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(join(root, 'dockerd.pid'), 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The daemon the harness runs: started here, or a leftover of an earlier run under HARNESS_ROOT. */
class OwnDaemon {
  child: ChildProcess | null = null;
  log = '';
  constructor(
    readonly root: string,
    readonly binary: string,
    readonly swarm = false,
  ) {}

  get socketPath(): string {
    return join(this.root, 'docker.sock');
  }

  async start(timeoutMs = 60_000): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const child = spawn(this.binary, dockerdArgs(this.root, this.swarm), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`dockerd exited (${child.exitCode ?? child.signalCode}):\n${this.log.slice(-3000)}`);
      }
      if (await answers(this.socketPath)) return;
      await sleep(200);
    }
    await this.stop();
    throw new Error(`dockerd did not answer within ${timeoutMs} ms:\n${this.log.slice(-3000)}`);
  }

  /** SIGTERM to the pid it wrote (ours), then SIGKILL after 30 s. */
  async stop(): Promise<void> {
    const pid = this.child?.pid ?? (await readPid(this.root));
    if (pid === null || pid === undefined || !alive(pid)) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (alive(pid) && Date.now() < deadline) {
      // A child of ours must be reaped before kill(pid, 0) reports it gone.
      if (this.child !== null && (this.child.exitCode !== null || this.child.signalCode !== null)) break;
      await sleep(100);
    }
    if (alive(pid) && !(this.child !== null && this.child.exitCode !== null)) process.kill(pid, 'SIGKILL');
    this.child = null;
  }
}

let shared: Promise<EngineResult> | null = null;

/**
 * One test process at a time has the engine: tests count events and inspects, and watch every
 * labelled container on the daemon, so a second test file's containers would break their figures.
 * Held from ensureDockerEngine() to release(); a holder that died leaves a stale lock, taken over.
 */
const LOCK = join(HARNESS_ROOT, 'exclusive');
const LOCK_WAIT_MS = 15 * 60_000;
let lockHeld = false;

function lockHolder(): number | null {
  try {
    const pid = Number(readFileSync(LOCK, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function dropLock(): void {
  if (lockHeld && lockHolder() === process.pid) rmSync(LOCK, { force: true });
  lockHeld = false;
}

async function acquireLock(): Promise<void> {
  await mkdir(HARNESS_ROOT, { recursive: true, mode: 0o700 });
  // Written aside and linked into place: the lock never exists without its pid.
  const mine = `${LOCK}.${process.pid}`;
  await writeFile(mine, String(process.pid));
  const deadline = Date.now() + LOCK_WAIT_MS;
  try {
    for (;;) {
      try {
        await link(mine, LOCK);
        lockHeld = true;
        process.once('exit', dropLock);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = lockHolder();
      if (holder === null || !alive(holder)) {
        await rm(LOCK, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`the Docker test engine is still held by pid ${holder} after ${LOCK_WAIT_MS} ms`);
      await sleep(250);
    }
  } finally {
    await rm(mine, { force: true });
  }
}

/**
 * A Docker engine for this test process: DOCKER_HOST (unix only), the system socket, the harness's
 * leftover daemon, or a new dockerd under HARNESS_ROOT (root and the dockerd binary needed). Waits
 * while another test process has it.
 */
export function ensureDockerEngine(): Promise<EngineResult> {
  shared ??= acquireLock().then(async () => {
    const result = await findOrStart().catch((err: unknown) => {
      dropLock();
      throw err;
    });
    if (!result.ok) dropLock();
    return result;
  });
  return shared;
}

async function findOrStart(): Promise<EngineResult> {
  const candidates: string[] = [];
  const fromEnv = process.env['DOCKER_HOST'];
  if (fromEnv?.startsWith('unix://')) candidates.push(fromEnv.slice('unix://'.length));
  candidates.push('/var/run/docker.sock');
  for (const socketPath of candidates) {
    if (await answers(socketPath)) return { ok: true, engine: await engine(socketPath, null) };
  }
  const binary = dockerdBinary();
  if (binary === null)
    return {
      ok: false,
      reason: 'no Docker daemon answers and dockerd is not installed (apt-get install docker.io)',
    };
  const own = new OwnDaemon(HARNESS_ROOT, binary);
  if (await answers(own.socketPath)) return { ok: true, engine: await engine(own.socketPath, own) };
  if (process.getuid?.() !== 0)
    return { ok: false, reason: 'no Docker daemon answers, and starting dockerd needs root' };
  try {
    await own.start();
  } catch (err) {
    return { ok: false, reason: `cannot start dockerd: ${(err as Error).message}` };
  }
  return { ok: true, engine: await engine(own.socketPath, own) };
}

/**
 * Processes using the harness's daemon register as `users/<pid>`, so that one test file (or a
 * benchmark) finishing does not stop the daemon under another.
 */
async function register(root: string): Promise<void> {
  await mkdir(join(root, 'users'), { recursive: true });
  await writeFile(join(root, 'users', String(process.pid)), '');
}

async function otherUsers(root: string): Promise<number[]> {
  let names: string[] = [];
  try {
    names = await readdir(join(root, 'users'));
  } catch {
    return [];
  }
  const others: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) others.push(pid);
    else await rm(join(root, 'users', name), { force: true });
  }
  return others;
}

async function engine(
  socketPath: string,
  own: OwnDaemon | null,
  /** Forgets the engine once released; the Docker engine also gives up its lock. */
  forget: () => void = () => {
    shared = null;
    dropLock();
  },
): Promise<DockerEngine> {
  if (own !== null) await register(own.root);
  return {
    endpoint: `unix://${socketPath}`,
    socketPath,
    docker: new Docker({ socketPath }),
    ownDaemon: own !== null,
    async soleUser() {
      return own !== null && (await otherUsers(own.root)).length === 0;
    },
    async restart() {
      if (own === null)
        throw new Error('not the harness daemon: a test never restarts a daemon it did not start');
      await own.stop();
      await own.start();
    },
    async release() {
      try {
        if (own === null) return;
        await rm(join(own.root, 'users', String(process.pid)), { force: true });
        if ((await otherUsers(own.root)).length === 0) await own.stop();
      } finally {
        forget();
      }
    },
  };
}

/** Image built from the host's busybox-static: `/serve` writes $WHO (or the hostname) to index.html and runs httpd on $PORT (80). */
export const BUSYBOX_IMAGE = 'berth-test-busybox:1';

const SERVE_SCRIPT = `#!/bin/sh
/bin/busybox mkdir -p /www
echo "\${WHO:-$(/bin/busybox hostname)}" > /www/index.html
exec /bin/busybox httpd -f -p "\${PORT:-80}" -h /www
`;

/** Imports BUSYBOX_IMAGE once per daemon (`docker import` of a rootfs: no registry involved). */
export async function ensureBusyboxImage(docker: Docker): Promise<string> {
  try {
    await docker.getImage(BUSYBOX_IMAGE).inspect();
    return BUSYBOX_IMAGE;
  } catch {
    // not there yet: build it below
  }
  const busybox = '/bin/busybox';
  if (!existsSync(busybox)) throw new Error('/bin/busybox missing: apt-get install busybox-static');
  const binary = await readFile(busybox);
  if (hasInterpreter(binary))
    throw new Error('/bin/busybox is dynamically linked: apt-get install busybox-static');
  const rootfs = await mkdtemp(join(tmpdir(), 'berth-rootfs-'));
  try {
    await mkdir(join(rootfs, 'bin'));
    await mkdir(join(rootfs, 'www'));
    await mkdir(join(rootfs, 'tmp'));
    await writeFile(join(rootfs, 'bin', 'busybox'), binary, { mode: 0o755 });
    await symlink('busybox', join(rootfs, 'bin', 'sh'));
    await writeFile(join(rootfs, 'serve'), SERVE_SCRIPT);
    await chmod(join(rootfs, 'serve'), 0o755);
    const tar = spawn('tar', ['-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [repo, tag] = BUSYBOX_IMAGE.split(':') as [string, string];
    const progress = await docker.importImage(
      tar.stdout as NodeJS.ReadableStream,
      {
        repo,
        tag,
        changes: ['CMD ["/serve"]', 'EXPOSE 80'],
      } as object,
    );
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(progress, (err: Error | null) => (err ? reject(err) : resolve()));
    });
    await docker.getImage(BUSYBOX_IMAGE).inspect();
    return BUSYBOX_IMAGE;
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

/** An ELF with a PT_INTERP program header needs a dynamic loader the image does not have. */
function hasInterpreter(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false; // ELF64 only
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const size = elf.readUInt16LE(0x36);
  const count = elf.readUInt16LE(0x38);
  for (let i = 0; i < count && phoff + i * size + 4 <= elf.length; i++) {
    if (elf.readUInt32LE(phoff + i * size) === 3) return true;
  }
  return false;
}

/** Removes every container and network labelled `berth-test=<runId>`, and nothing else. */
export async function removeTestObjects(docker: Docker, runId: string): Promise<void> {
  const filters = { label: [`berth-test=${runId}`] };
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
  const networks = await docker.listNetworks({ filters });
  await Promise.all(
    networks.map((n) =>
      docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {}),
    ),
  );
}

/**
 * How a test reacts to a missing engine: skipped with the reason, or failed when the run demands
 * every end-to-end test (BERTH_REQUIRE_E2E=1, as CI sets it).
 */
export function engineUnavailable(reason: string): string {
  if (process.env['BERTH_REQUIRE_E2E'] === '1')
    throw new Error(`Docker end-to-end tests required: ${reason}`);
  return reason;
}

export interface SwarmEngine extends DockerEngine {
  /** True when this run put the daemon in Swarm mode (and so leaves it again in release()). */
  initialised: boolean;
}

export type SwarmEngineResult = { ok: true; engine: SwarmEngine } | { ok: false; reason: string };

let sharedSwarm: Promise<SwarmEngineResult> | null = null;

/**
 * A Swarm manager for this test process: DOCKER_HOST or the system socket when that daemon already is
 * one (used as it is), else the harness's own Swarm daemon under SWARM_HARNESS_ROOT, put in Swarm
 * mode on loopback (`swarm init --advertise-addr 127.0.0.1`) unless a leftover already is.
 */
export function ensureSwarmEngine(): Promise<SwarmEngineResult> {
  sharedSwarm ??= findOrStartSwarm();
  return sharedSwarm;
}

async function isManager(socketPath: string): Promise<boolean> {
  try {
    const info = (await new Docker({ socketPath, timeout: 5000 }).info()) as {
      Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean };
    };
    return info.Swarm?.LocalNodeState === 'active' && info.Swarm.ControlAvailable === true;
  } catch {
    return false;
  }
}

async function findOrStartSwarm(): Promise<SwarmEngineResult> {
  const candidates: string[] = [];
  const fromEnv = process.env['DOCKER_HOST'];
  if (fromEnv?.startsWith('unix://')) candidates.push(fromEnv.slice('unix://'.length));
  candidates.push('/var/run/docker.sock');
  for (const socketPath of candidates) {
    if ((await answers(socketPath)) && (await isManager(socketPath)))
      return { ok: true, engine: { ...(await engine(socketPath, null, () => {})), initialised: false } };
  }
  const binary = dockerdBinary();
  if (binary === null)
    return {
      ok: false,
      reason: 'no Swarm manager answers and dockerd is not installed (apt-get install docker.io)',
    };
  const own = new OwnDaemon(SWARM_HARNESS_ROOT, binary, true);
  if (!(await answers(own.socketPath))) {
    if (process.getuid?.() !== 0)
      return { ok: false, reason: 'no Swarm manager answers, and starting dockerd needs root' };
    try {
      await own.start();
    } catch (err) {
      return { ok: false, reason: `cannot start dockerd: ${(err as Error).message}` };
    }
  }
  const base = await engine(own.socketPath, own, () => {});
  let initialised = false;
  if (!(await isManager(own.socketPath))) {
    try {
      await base.docker.swarmInit({ AdvertiseAddr: '127.0.0.1', ListenAddr: '127.0.0.1:2377' });
      initialised = true;
    } catch (err) {
      await base.release();
      return { ok: false, reason: `docker swarm init failed: ${(err as Error).message}` };
    }
  }
  return {
    ok: true,
    engine: {
      ...base,
      initialised,
      async release() {
        // Only the run that put the daemon in Swarm mode takes it out, and only when no one else uses it.
        if (initialised && (await base.soleUser())) {
          await base.docker.swarmLeave({ force: true }).catch(() => {});
          // The bridge Swarm made on the host for its tasks' outside traffic goes with it.
          await base.docker
            .getNetwork('docker_gwbridge')
            .remove()
            .catch(() => {});
        }
        await base.release();
        sharedSwarm = null;
      },
    },
  };
}

/** Removes every service, container and network labelled `berth-test=<runId>`, and nothing else. */
export async function removeSwarmTestObjects(docker: Docker, runId: string): Promise<void> {
  const filters = { label: [`berth-test=${runId}`] };
  const services = await docker.listServices({ filters }).catch(() => []);
  await Promise.all(
    services.map((s) =>
      docker
        .getService(s.ID)
        .remove()
        .catch(() => {}),
    ),
  );
  // A removed service's task containers go away shortly; its networks can only go after them.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const left = await docker.listContainers({ all: true, filters: { label: [`berth-test=${runId}`] } });
    if (left.length === 0) break;
    await sleep(250);
  }
  await removeTestObjects(docker, runId);
}
