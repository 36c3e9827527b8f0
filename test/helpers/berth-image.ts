// The deploy image (deploy/Dockerfile) built for tests, on a Node base image made from this machine's own Node: no registry pull.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import {
  chmod,
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { DockerEngine } from './docker-engine.js';

const run = promisify(execFile);

/** The repository root (this file runs from test/dist/helpers). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** `berth` inside the image (its entrypoint): for `docker exec` and `docker compose exec`. */
export const BERTH_IN_IMAGE = ['node', '/app/packages/cli/bin/berth.js'] as const;

/** `berth nodes --json` inside the controller's container, reading its admin token from the data dir. */
export const NODES_JSON_IN_IMAGE = [...BERTH_IN_IMAGE, 'nodes', '--json', '--data-dir', '/var/lib/berth'];

/** Tags of the deploy image built by tests: `berth-test:<source hash>`. */
export const BERTH_TEST_REPO = 'berth-test';

/** `berth-test-node-base:<node version>`: this machine's node, its libraries, npm and busybox. */
export const nodeBaseImage = (version = process.version) =>
  `berth-test-node-base:${version.replace(/^v/, '')}`;

async function imageExists(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch {
    return false;
  }
}

/** The shared libraries `ldd` lists for a binary, the dynamic loader included (absolute paths only). */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const paths: string[] = [];
  for (const line of stdout.split('\n')) {
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` or `/lib64/ld-linux-x86-64.so.2 (0x...)`
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (m?.[1]) paths.push(m[1]);
  }
  if (paths.length === 0) throw new Error(`ldd listed no libraries for ${binary}:\n${stdout}`);
  return paths;
}

/** npm as installed next to this node: `<prefix>/lib/node_modules/npm`. */
async function findNpm(node: string): Promise<string> {
  const candidates = [
    join(dirname(node), '..', 'lib', 'node_modules', 'npm'),
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm'),
    '/usr/local/lib/node_modules/npm',
    '/usr/lib/node_modules/npm',
    '/usr/share/nodejs/npm',
  ];
  for (const dir of candidates) {
    if (existsSync(join(dir, 'bin', 'npm-cli.js'))) return realpath(dir);
  }
  throw new Error(`npm not found next to ${node} (looked in ${candidates.join(', ')})`);
}

/**
 * Imports `nodeBaseImage()` once per daemon: a rootfs with this process's node at /usr/local/bin/node
 * and the libraries it links (as `ldd` names them, so the loader finds them in its default
 * directories), npm at /usr/local/lib/node_modules/npm (`npm` and `npx` in /usr/local/bin),
 * busybox-static with its applets (`sh`, `env`, `cp`, ... for the build stage's RUN), /tmp, a
 * minimal /etc/passwd and /etc/group, and the file NODE_EXTRA_CA_CERTS names here, if any.
 * `docker import` of a tar: no registry involved.
 */
export async function ensureNodeBaseImage(docker: Docker): Promise<string> {
  const image = nodeBaseImage();
  if (await imageExists(docker, image)) return image;
  const node = await realpath(process.execPath);
  const busybox = '/bin/busybox';
  if (!existsSync(busybox)) throw new Error('/bin/busybox missing: apt-get install busybox-static');
  const rootfs = await mkdtemp(join(tmpdir(), 'berth-node-rootfs-'));
  try {
    const put = async (path: string, from: string, mode?: number) => {
      await mkdir(join(rootfs, dirname(path)), { recursive: true });
      await copyFile(await realpath(from), join(rootfs, path));
      if (mode !== undefined) await chmod(join(rootfs, path), mode);
    };
    await put('/usr/local/bin/node', node, 0o755);
    for (const lib of await sharedLibraries(node)) await put(lib, lib, 0o755);
    await cp(await findNpm(node), join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true });
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
    await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
    await put('/bin/busybox', busybox, 0o755);
    const { stdout } = await run(busybox, ['--list-full']);
    for (const applet of stdout.split('\n').filter(Boolean)) {
      const at = join(rootfs, applet);
      if (existsSync(at)) continue;
      await mkdir(dirname(at), { recursive: true });
      await symlink('/bin/busybox', at);
    }
    await mkdir(join(rootfs, 'tmp'));
    await chmod(join(rootfs, 'tmp'), 0o1777);
    await mkdir(join(rootfs, 'root'), { mode: 0o700 });
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await writeFile(
      join(rootfs, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    );
    await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    // The machine's extra trust (a TLS-inspecting proxy's CA, say) goes along, for npm in the build stage.
    const extraCa = process.env['NODE_EXTRA_CA_CERTS'];
    const env = ['PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin'];
    if (extraCa && existsSync(extraCa)) {
      await put('/etc/ssl/certs/berth-extra-ca.crt', extraCa, 0o644);
      env.push('NODE_EXTRA_CA_CERTS=/etc/ssl/certs/berth-extra-ca.crt');
    }
    const tar = spawn('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-c', '.'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [repo, tag] = image.split(':') as [string, string];
    const progress = await docker.importImage(
      tar.stdout as NodeJS.ReadableStream,
      {
        repo,
        tag,
        changes: [...env.map((e) => `ENV ${e}`), 'CMD ["node"]'],
      } as object,
    );
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(progress, (err: Error | null) => (err ? reject(err) : resolve()));
    });
    await docker.getImage(image).inspect();
    return image;
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

/** Every file the build context holds (see .dockerignore), relative to the repository root. */
async function contextFiles(): Promise<string[]> {
  const files = ['deploy/Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig.json'];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(join(REPO_ROOT, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else files.push(path);
    }
  };
  for (const pkg of (await readdir(join(REPO_ROOT, 'packages'))).sort()) {
    for (const file of ['package.json', 'tsconfig.json']) {
      if (existsSync(join(REPO_ROOT, 'packages', pkg, file))) files.push(join('packages', pkg, file));
    }
    for (const dir of ['src', 'bin']) {
      if (existsSync(join(REPO_ROOT, 'packages', pkg, dir))) await walk(join('packages', pkg, dir));
    }
  }
  return files.sort();
}

/** A hash of the build's inputs: the base image and every file of the context. */
async function sourceHash(baseImageId: string): Promise<string> {
  const hash = createHash('sha256').update(`${baseImageId}\n`);
  for (const file of await contextFiles()) {
    hash.update(`${file}\n`);
    hash.update(await readFile(join(REPO_ROOT, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

export interface BerthImage {
  /** `berth-test:<source hash>` */
  tag: string;
  baseImage: string;
  /** False when an image of the same sources was already there. */
  built: boolean;
  /** The `docker build` output of this build (empty path when reused). */
  logFile: string;
}

let building: Promise<BerthImage> | null = null;

/**
 * Builds deploy/Dockerfile as it is, with `--build-arg BASE_IMAGE=<ensureNodeBaseImage()>`, the
 * legacy builder (no buildx here) and the host network (for npm ci), on the given engine; once per
 * process. An image of the same sources and base (the tag holds their hash) is reused; the tag
 * built from this checkout before goes when a new one is built. The build's output goes
 * to a log file, quoted in the error when the build fails.
 */
export function buildBerthImage(engine: DockerEngine): Promise<BerthImage> {
  building ??= build(engine).catch((err: unknown) => {
    building = null;
    throw err;
  });
  return building;
}

async function build(engine: DockerEngine): Promise<BerthImage> {
  const { docker } = engine;
  const baseImage = await ensureNodeBaseImage(docker);
  const base = (await docker.getImage(baseImage).inspect()) as { Id: string };
  const hash = await sourceHash(base.Id);
  const tag = `${BERTH_TEST_REPO}:${hash}`;
  if (await imageExists(docker, tag)) return { tag, baseImage, built: false, logFile: '' };

  const checkout = createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12);
  const logFile = join(tmpdir(), `berth-image-build-${hash}.log`);
  const log = createWriteStream(logFile);
  const args = [
    'build',
    // A failed step's container goes too (the legacy builder keeps it otherwise).
    '--force-rm',
    '--network',
    'host',
    '--build-arg',
    `BASE_IMAGE=${baseImage}`,
    '--label',
    `berth-test-source=${hash}`,
    '--label',
    `berth-test-checkout=${checkout}`,
    '-f',
    join(REPO_ROOT, 'deploy', 'Dockerfile'),
    '-t',
    tag,
    REPO_ROOT,
  ];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('docker', args, {
      env: { ...process.env, DOCKER_BUILDKIT: '0', DOCKER_HOST: engine.endpoint },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once('error', reject);
    child.once('close', resolve);
  });
  await new Promise<void>((resolve) => log.end(resolve));
  if (code !== 0) {
    const output = await readFile(logFile, 'utf8');
    throw new Error(
      `docker build of deploy/Dockerfile failed (exit ${code}; log ${logFile}):\n${output.slice(-6000)}`,
    );
  }
  // Older builds of this checkout go; those of other checkouts (worktrees) sharing the daemon stay,
  // and the build-stage layers stay as the daemon's cache.
  const old = await docker.listImages({
    filters: { reference: [`${BERTH_TEST_REPO}:*`], label: [`berth-test-checkout=${checkout}`] },
  });
  for (const image of old) {
    for (const name of image.RepoTags ?? []) {
      if (name !== tag && name.startsWith(`${BERTH_TEST_REPO}:`))
        await docker
          .getImage(name)
          .remove()
          .catch(() => {});
    }
  }
  return { tag, baseImage, built: true, logFile };
}
