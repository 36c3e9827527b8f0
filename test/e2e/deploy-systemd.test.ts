// Issue 12, systemd part: the units in deploy/systemd pass `systemd-analyze verify` and `security`,
// and their own ExecStart= lines, run as two unprivileged users with the units' capabilities,
// start a controller and a proxy node that joins it and serves on a port below 1024.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Child, ChildGroup } from '@berth/cli';
import { eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, freePortRun, startBackend, whoAnswers } from '../helpers/http.js';
import {
  execStartArgv,
  expandSpecifiers,
  parseUnit,
  serviceEnvironment,
  type Unit,
  values,
} from '../helpers/systemd-unit.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const unitsDir = join(repo, 'deploy', 'systemd');
/** The `berth` command as npm links it: what /usr/bin/berth is on an installed host. */
const berthScript = join(repo, 'packages', 'cli', 'bin', 'berth.js');
const UNITS = ['berth-controller.service', 'berth-proxy.service'] as const;
const INSTALLED_BINARY = '/usr/bin/berth';
/** `systemd-analyze security` rates 0 (locked down) to 10 (exposed); below 4.0 reads "OK". */
const MAX_EXPOSURE = 2.5;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

/** Skipped with the reason, or failed when the run demands every end-to-end test (as CI does). */
function unavailable(reason: string): string {
  if (process.env['BERTH_REQUIRE_E2E'] === '1')
    throw new Error(`systemd end-to-end tests required: ${reason}`);
  return reason;
}

const version = await run('systemd-analyze', ['--version'], repo).catch((err: Error) => err);
const skip =
  version instanceof Error || version.code !== 0
    ? unavailable(
        `systemd-analyze is not available (${version instanceof Error ? version.message : version.stderr})`,
      )
    : false;
const systemdVersion = version instanceof Error ? '' : (version.stdout.split('\n')[0] ?? '');

/**
 * The unit with its ExecStart= binary, which does not exist here (verify refuses a unit whose
 * binary is missing), replaced by this Node running the checkout's `berth` script. Nothing else
 * changes.
 */
function runnable(text: string): string {
  const quoted = (p: string) => `"${p.replaceAll('%', '%%')}"`;
  const prefix = `ExecStart=${INSTALLED_BINARY} `;
  const lines = text.split('\n');
  assert.equal(lines.filter((l) => l.startsWith(prefix)).length, 1, `one ${prefix}... line`);
  return lines
    .map((l) =>
      l.startsWith(prefix)
        ? `ExecStart=${quoted(process.execPath)} ${quoted(berthScript)} ${l.slice(prefix.length)}`
        : l,
    )
    .join('\n');
}

/** Copies the units (and the controller's Docker drop-in, if asked) into `dir`, made runnable. */
async function copyUnits(
  dir: string,
  opts: { dropIn?: boolean; edit?: (name: string, text: string) => string } = {},
) {
  await mkdir(dir, { recursive: true });
  for (const name of UNITS) {
    const text = runnable(await readFile(join(unitsDir, name), 'utf8'));
    await writeFile(join(dir, name), opts.edit ? opts.edit(name, text) : text);
  }
  if (opts.dropIn) {
    await mkdir(join(dir, 'berth-controller.service.d'));
    await copyFile(
      join(unitsDir, 'docker-provider.conf'),
      join(dir, 'berth-controller.service.d', 'docker-provider.conf'),
    );
  }
}

/**
 * What `systemd-analyze verify` says about our units. A known-good unit (systemd-journald.service)
 * gets no line at all here, so any line naming a berth unit or file is a finding; other lines, if
 * some systemd prints them about its own units, are reported as diagnostics only.
 */
async function verify(t: TestContext, dir: string): Promise<{ code: number; findings: string[] }> {
  const r = await run('systemd-analyze', ['verify', ...UNITS.map((u) => `./${u}`)], dir);
  const findings: string[] = [];
  for (const line of `${r.stdout}\n${r.stderr}`.split('\n')) {
    if (line.trim() === '') continue;
    if (line.includes('berth') || line.includes(dir)) findings.push(line);
    else t.diagnostic(`systemd-analyze verify, not about berth: ${line}`);
  }
  return { code: r.code, findings };
}

describe('the systemd units in deploy/systemd', { skip }, () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-systemd-'));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pass systemd-analyze verify without a warning', async (t) => {
    t.diagnostic(systemdVersion);
    const copy = join(dir, 'plain');
    await copyUnits(copy);
    const { code, findings } = await verify(t, copy);
    assert.deepEqual(findings, []);
    assert.equal(code, 0);
  });

  it("pass it with the controller's Docker drop-in", async (t) => {
    const copy = join(dir, 'docker');
    await copyUnits(copy, { dropIn: true });
    const { code, findings } = await verify(t, copy);
    assert.deepEqual(findings, []);
    assert.equal(code, 0);
  });

  it('would be caught by that check with a mistake in them (the check is not blind)', async (t) => {
    const copy = join(dir, 'broken');
    await copyUnits(copy, {
      dropIn: true,
      edit: (name, text) =>
        name === 'berth-proxy.service' ? text.replace('Restart=on-failure', 'Restart=sometimes') : text,
    });
    await writeFile(
      join(copy, 'berth-controller.service.d', 'typo.conf'),
      '[Service]\nSupplementaryGroup=docker\n',
    );
    const { findings } = await verify(t, copy);
    assert.equal(findings.length, 2, findings.join('\n'));
    assert.ok(findings.some((l) => l.includes('berth-proxy.service') && l.includes('sometimes')));
    assert.ok(findings.some((l) => l.includes('typo.conf') && l.includes('SupplementaryGroup')));
  });

  it(`rate an exposure of at most ${MAX_EXPOSURE} in systemd-analyze security --offline`, async (t) => {
    const help = await run('systemd-analyze', ['--help'], dir);
    if (!help.stdout.includes('--offline')) {
      t.skip(unavailable(`${systemdVersion} has no systemd-analyze security --offline (systemd ≥ 250)`));
      return;
    }
    const copies = { plain: join(dir, 'plain'), docker: join(dir, 'docker') };
    for (const [variant, copy] of Object.entries(copies)) {
      for (const unit of UNITS) {
        if (variant === 'docker' && unit !== 'berth-controller.service') continue;
        const r = await run(
          'systemd-analyze',
          ['security', '--offline=yes', '--no-pager', `./${unit}`],
          copy,
        );
        assert.equal(r.code, 0, r.stderr);
        const overall = /Overall exposure level for \S+: (\d+(?:\.\d+)?) (\S+)/.exec(r.stdout);
        assert.ok(overall?.[1], `no overall exposure in:\n${r.stdout}\n${r.stderr}`);
        const score = Number(overall[1]);
        t.diagnostic(
          `${unit}${variant === 'docker' ? ' + docker-provider.conf' : ''}: exposure ${score} ${overall[2]}`,
        );
        assert.ok(score <= MAX_EXPOSURE, `${unit} exposure ${score} > ${MAX_EXPOSURE}:\n${r.stdout}`);
      }
    }
  });

  it("start a controller and a node from the units' own command lines, which join and serve", {
    timeout: 90_000,
  }, async (t) => {
    // The host's directories, under a temporary root: %E is /etc, %S is /var/lib.
    const root = join(dir, 'host');
    const etc = join(root, 'etc');
    const state = join(root, 'var', 'lib');
    const specifiers = (unitName: string): Record<string, string> => ({
      E: etc,
      S: state,
      H: hostname(),
      d: join(root, 'run', 'credentials', unitName),
    });
    const units = new Map<string, Unit>();
    for (const name of UNITS) units.set(name, parseUnit(await readFile(join(unitsDir, name), 'utf8')));
    // As root with setpriv, each service runs as its own unprivileged user with the unit's
    // capabilities, and the proxy's entry point is a port below 1024; else as this user.
    const users = await sandboxUsers();
    if (users === null)
      t.diagnostic('not root or no setpriv: the services run as this user, with its capabilities');
    const group = new ChildGroup();
    let backend: Backend | null = null;
    // Kept here: the group forgets a child once it has exited, and its output is what explains it.
    const started: Child[] = [];
    const logs = () => started.map((c) => `----- ${c.name}\n${c.output()}`).join('\n');
    try {
      backend = await startBackend('app');
      // What the README has the user write: berth.yaml, controller.env; ports free on loopback.
      await mkdir(join(etc, 'berth', 'dynamic'), { recursive: true });
      // Traversable by the services' users, as / and /etc are.
      await chmod(dir, 0o755);
      const webPort = users ? await freePrivilegedPort() : 0;
      await writeFile(
        join(etc, 'berth', 'berth.yaml'),
        `entryPoints:\n  web:\n    address: "127.0.0.1:${webPort}"\nproviders:\n  file:\n    directory: ${join(etc, 'berth', 'dynamic')}\n`,
      );
      await writeFile(join(etc, 'berth', 'dynamic', 'app.yaml'), singleRouteYaml([backend.url]));
      const port = await freePortRun(2);
      await writeFile(
        join(etc, 'berth', 'controller.env'),
        `# as the README shows\nBERTH_LISTEN=127.0.0.1:${port}\nBERTH_ADVERTISE="127.0.0.1:${port}"\nBERTH_API=127.0.0.1:${port + 1}\n`,
      );

      const controller = await startService(
        group,
        'berth-controller.service',
        units,
        specifiers,
        users?.controller,
      );
      started.push(controller);
      const api = `http://127.0.0.1:${port + 1}`;
      await whileRunning(
        [controller],
        eventually(async () => (await fetch(`${api}/healthz`)).ok, 20_000, logs),
        logs,
      );

      // The README's step on the controller host: `berth token` into root's 0600 file.
      const tokenRun = await run(
        process.execPath,
        [berthScript, 'token', '--data-dir', join(state, 'berth', 'controller')],
        root,
      );
      assert.equal(tokenRun.code, 0, tokenRun.stderr);
      await writeFile(join(etc, 'berth', 'join-token'), tokenRun.stdout, { mode: 0o600 });

      const proxy = await startService(group, 'berth-proxy.service', units, specifiers, users?.proxy);
      started.push(proxy);
      interface NodeItem {
        name: string;
        connected: boolean;
        appliedVersion: number;
        listeners: { entryPoint: string; address: string; state?: string }[];
      }
      let nodes: NodeItem[] = [];
      const node = await whileRunning(
        [controller, proxy],
        eventually(
          async () => {
            nodes = (await (await fetch(`${api}/api/v1/nodes`)).json()) as NodeItem[];
            return nodes.find(
              (n) =>
                n.name === hostname() &&
                n.connected &&
                n.appliedVersion > 0 &&
                n.listeners.some((l) => l.entryPoint === 'web' && l.state !== 'retrying'),
            );
          },
          30_000,
          () => `nodes: ${JSON.stringify(nodes)}\n${logs()}`,
        ),
        logs,
      );
      const web = node.listeners.find((l) => l.entryPoint === 'web');
      const bound = Number(web?.address.slice(web.address.lastIndexOf(':') + 1));
      if (users) {
        assert.equal(bound, webPort);
        t.diagnostic(
          `controller as uid ${users.controller.uid}, proxy as uid ${users.proxy.uid} bound 127.0.0.1:${bound}`,
        );
      }
      assert.equal(await whoAnswers(bound, 'app.test'), 'app');

      // `systemctl stop` sends SIGTERM: both end with status 0, so systemd records no failure.
      for (const child of [proxy, controller]) {
        await group.stop(child, 'SIGTERM', 10_000);
        assert.equal(await child.exited, 0, `${child.name} did not exit cleanly:\n${child.output()}`);
        // The journal gets pino's JSON lines: `journalctl -o cat | jq` reads every one.
        for (const line of child.output().split('\n')) {
          if (line.trim() !== '') assert.doesNotThrow(() => JSON.parse(line), `${child.name}: ${line}`);
        }
      }
    } finally {
      await group.stopAll('SIGTERM', 5000);
      await backend?.close();
    }
  });
});

/** `wait`, failed at once (with every process's output) when one of `children` exits first. */
function whileRunning<T>(children: Child[], wait: Promise<T>, logs: () => string): Promise<T> {
  const exits = children.map((c) =>
    c.exited.then((code): never => {
      throw new Error(`${c.name} exited with ${code}:\n${logs()}`);
    }),
  );
  return Promise.race([wait, ...exits]);
}

interface ServiceUser {
  uid: number;
  gid: number;
}

/**
 * Two users for the services, as DynamicUser= allocates them (from 61184 up), when this test may
 * switch users: as root, with util-linux's setpriv. Null otherwise.
 */
async function sandboxUsers(): Promise<{ controller: ServiceUser; proxy: ServiceUser } | null> {
  if (process.getuid?.() !== 0) return null;
  const setpriv = await run('setpriv', ['--version'], '/').catch(() => null);
  if (setpriv?.code !== 0) return null;
  const base = 61184 + Math.floor(Math.random() * 4000) * 2;
  return { controller: { uid: base, gid: base }, proxy: { uid: base + 1, gid: base + 1 } };
}

/** A loopback port below 1024 that is free right now (only root can probe them). */
async function freePrivilegedPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 600 + Math.floor(Math.random() * 400);
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
  }
  throw new Error('no free port below 1024 on 127.0.0.1');
}

/** `CAP_NET_BIND_SERVICE CAP_X` as setpriv writes a set: `-all,+net_bind_service,+x`. */
function setprivCaps(setting: string | undefined): string {
  const caps = (setting ?? '').split(/\s+/).filter((c) => c !== '');
  return ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
}

/**
 * Starts a unit's ExecStart= as systemd would: the state directories made (and owned by `user`),
 * the credentials copied into %d (readable by `user` only), the environment of Environment= and
 * EnvironmentFile= only, / as the working directory, UMask=; with `user`, also as that user with
 * the unit's CapabilityBoundingSet= and AmbientCapabilities= and no new privileges. The installed
 * binary is this Node running the checkout's script.
 */
async function startService(
  group: ChildGroup,
  unitName: string,
  units: Map<string, Unit>,
  specifiersOf: (unitName: string) => Record<string, string>,
  user: ServiceUser | undefined,
): Promise<Child> {
  const unit = units.get(unitName);
  if (!unit) throw new Error(`no unit ${unitName}`);
  const specifiers = specifiersOf(unitName);
  const stateRoot = specifiers['S'] as string;
  const mode = Number.parseInt(values(unit, 'Service', 'StateDirectoryMode')[0] ?? '0755', 8);
  for (const line of values(unit, 'Service', 'StateDirectory')) {
    for (const sub of line.split(/\s+/)) {
      await mkdir(join(stateRoot, sub), { recursive: true });
      await chmod(join(stateRoot, sub), mode);
      if (user) await chown(join(stateRoot, sub), user.uid, user.gid);
    }
  }
  const credentials = specifiers['d'] as string;
  await mkdir(dirname(credentials), { recursive: true });
  await mkdir(credentials, { mode: 0o500 });
  for (const line of values(unit, 'Service', 'LoadCredential')) {
    const colon = line.indexOf(':');
    const id = line.slice(0, colon);
    await copyFile(expandSpecifiers(line.slice(colon + 1), specifiers), join(credentials, id));
    await chmod(join(credentials, id), 0o400);
    if (user) await chown(join(credentials, id), user.uid, user.gid);
  }
  if (user) await chown(credentials, user.uid, user.gid);
  const env = serviceEnvironment(unit, specifiers);
  const argv = execStartArgv(unit, specifiers, env);
  assert.equal(argv[0], INSTALLED_BINARY);
  const command = [process.execPath, berthScript, ...argv.slice(1)];
  const sandbox = user
    ? [
        'setpriv',
        `--reuid=${user.uid}`,
        `--regid=${user.gid}`,
        '--clear-groups',
        `--bounding-set=${setprivCaps(values(unit, 'Service', 'CapabilityBoundingSet')[0])}`,
        `--inh-caps=${setprivCaps(values(unit, 'Service', 'AmbientCapabilities')[0])}`,
        `--ambient-caps=${setprivCaps(values(unit, 'Service', 'AmbientCapabilities')[0])}`,
        ...(values(unit, 'Service', 'NoNewPrivileges')[0] === 'yes' ? ['--no-new-privs'] : []),
        '--',
      ]
    : [];
  const umask = values(unit, 'Service', 'UMask')[0] ?? '0022';
  // sh sets the umask and execs the rest, so the child's pid is the service's.
  return group.spawn(
    unitName,
    '/bin/sh',
    ['-c', `umask ${umask} && exec "$@"`, 'sh', ...sandbox, ...command],
    {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env, CREDENTIALS_DIRECTORY: credentials },
      cwd: '/',
    },
  );
}
