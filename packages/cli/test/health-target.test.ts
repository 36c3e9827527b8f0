// `berth healthcheck` finds the running berth process and derives its /healthz from its argv alone.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { controllerCommand } from '../src/commands/controller.js';
import { proxyCommand } from '../src/commands/proxy.js';
import { upCommand } from '../src/commands/up.js';
import { findBerthProcess } from '../src/process/berth-process.js';
import { berthInvocation, type HealthTarget, healthTarget } from '../src/process/health-target.js';

const BIN = '/app/packages/cli/bin/berth.js';
const tables = { controller: controllerCommand, proxy: proxyCommand, up: upCommand };

/** The /healthz URL (or the error code and message) for `node <bin> ...argv`. */
function target(...argv: string[]): HealthTarget | null {
  const invocation = berthInvocation(['node', BIN, ...argv]);
  if (invocation === null) return null;
  const cmd = tables[invocation.command as keyof typeof tables] ?? {
    ...controllerCommand,
    name: invocation.command,
  };
  return healthTarget(invocation, cmd);
}

const url = (t: HealthTarget | null) => (t?.ok ? t.url : t);

describe('reading a berth process from its argv', () => {
  it('finds the command after the entry script, however berth was started', () => {
    const argvs: [string[], string | null][] = [
      [['node', BIN, 'proxy', '--name', 'a'], 'proxy'],
      [['/usr/local/bin/node', '--enable-source-maps', BIN, 'controller'], 'controller'],
      // Run through its shebang: the kernel puts the interpreter first.
      [['node', '/app/node_modules/.bin/berth', 'up'], 'up'],
      [['/usr/bin/node', '/usr/local/bin/berth', 'proxy'], 'proxy'],
      [['node', '/app/packages/cli/dist/src/bin.js', 'controller', '--api', ':7380'], 'controller'],
      [['node', '/srv/server.js', 'proxy'], null],
      [['node', BIN], null],
      [['node', BIN, '--help'], null],
      [['sleep', '100'], null],
      [[], null],
    ];
    for (const [argv, command] of argvs)
      assert.equal(berthInvocation(argv)?.command ?? null, command, argv.join(' '));
    assert.deepEqual(berthInvocation(['node', BIN, 'proxy', '--metrics', ':9100'])?.args, [
      '--metrics',
      ':9100',
    ]);
  });
});

describe('the /healthz of a berth process, from its flags', () => {
  it("asks a controller's API, loopback for a wildcard address, in every form --api takes", () => {
    const cases: [string[], string][] = [
      [[], 'http://127.0.0.1:7380/healthz'],
      [['--api', '127.0.0.1:7390'], 'http://127.0.0.1:7390/healthz'],
      [['--api=0.0.0.0:7380'], 'http://127.0.0.1:7380/healthz'],
      [['--api', ':7380'], 'http://127.0.0.1:7380/healthz'],
      [['--api', '[::]:7380'], 'http://[::1]:7380/healthz'],
      [['--api', 'http://[::]:7380'], 'http://[::1]:7380/healthz'],
      [['--api', 'http://0.0.0.0:7380/prefix/'], 'http://127.0.0.1:7380/healthz'],
      [['--api', '10.0.0.5:7000'], 'http://10.0.0.5:7000/healthz'],
      [['--api', 'controller.internal:7380'], 'http://controller.internal:7380/healthz'],
      // The last of a repeated flag wins, as when the process parsed it.
      [['--api', '127.0.0.1:0', '--api', '127.0.0.1:7391'], 'http://127.0.0.1:7391/healthz'],
      // A bare --docker takes no value from the next flag.
      [['--docker', '--api', '127.0.0.1:7392', '--entrypoint', 'web=:80'], 'http://127.0.0.1:7392/healthz'],
    ];
    for (const [args, expected] of cases)
      assert.equal(url(target('controller', ...args)), expected, args.join(' '));
  });

  it("asks `berth up`'s controller API", () => {
    assert.equal(url(target('up')), 'http://127.0.0.1:7380/healthz');
    assert.equal(url(target('up', '--nodes', '3', '--api', ':7480')), 'http://127.0.0.1:7480/healthz');
  });

  it("asks a proxy node's --metrics server, loopback for a wildcard address", () => {
    const cases: [string[], string][] = [
      [['--metrics', '127.0.0.1:9100'], 'http://127.0.0.1:9100/healthz'],
      [['--metrics=:9100'], 'http://127.0.0.1:9100/healthz'],
      [['--metrics', '0.0.0.0:9100'], 'http://127.0.0.1:9100/healthz'],
      [['--metrics', '[::]:9100'], 'http://[::1]:9100/healthz'],
      [['--metrics', '[fd00::5]:9100', '--workers', '2'], 'http://[fd00::5]:9100/healthz'],
      [
        ['--join-file', '/run/secrets/join', '--entrypoint', 'web=:80', '--metrics', '10.1.2.3:9100'],
        'http://10.1.2.3:9100/healthz',
      ],
    ];
    for (const [args, expected] of cases)
      assert.equal(url(target('proxy', ...args)), expected, args.join(' '));
  });

  it('says what to do when the process serves no endpoint its flags name', () => {
    assert.deepEqual(target('proxy', '--join-file', 'j'), {
      ok: false,
      code: 'BERTH_CLI_NO_HEALTH_ENDPOINT',
      message: 'this proxy serves no health endpoint: start it with --metrics 127.0.0.1:9100',
    });
    const zero = target('proxy', '--metrics', '127.0.0.1:0');
    assert.equal(zero?.ok, false);
    assert.match(zero?.ok === false ? zero.message : '', /port 0 .*--url/);
    assert.equal(
      (target('controller', '--api', '127.0.0.1:0') as { code: string }).code,
      'BERTH_CLI_NO_HEALTH_ENDPOINT',
    );
    assert.equal((target('token') as { code: string }).code, 'BERTH_CLI_NO_HEALTH_ENDPOINT');
    assert.equal((target('proxy', '--metrics', 'nowhere') as { code: string }).code, 'BERTH_CLI_BAD_FLAG');
    assert.equal((target('controller', '--api', 'ftp://x:1') as { code: string }).code, 'BERTH_CLI_BAD_FLAG');
    const unknown = target('proxy', '--no-such-flag');
    assert.equal(unknown?.ok, false);
    assert.match(unknown?.ok === false ? unknown.message : '', /cannot read the flags of `berth proxy`/);
  });
});

describe('finding the berth process to ask', () => {
  let root: string;
  const proc = async (pid: number, argv: string[]) => {
    await mkdir(join(root, String(pid)), { recursive: true });
    await writeFile(join(root, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-proc-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('takes pid 1 when it is berth, else the lowest controller or proxy, never itself nor `up`', async () => {
    await proc(1, ['/sbin/docker-init', '--', 'node', BIN, 'up']);
    await proc(7, ['node', BIN, 'up']);
    await proc(8, ['node', BIN, 'healthcheck']);
    await proc(12, ['node', BIN, 'proxy', '--metrics', ':9100']);
    await proc(30, ['node', BIN, 'controller']);
    await mkdir(join(root, 'self'), { recursive: true });
    // docker-init runs berth up, so pid 1 counts as `berth up`.
    assert.deepEqual(await findBerthProcess({ procRoot: root, self: 8 }), {
      pid: 1,
      invocation: { command: 'up', args: [] },
    });
    await proc(1, ['/sbin/tini', '--', '/entrypoint.sh']);
    assert.equal((await findBerthProcess({ procRoot: root, self: 8 })).pid, 12);
    assert.equal((await findBerthProcess({ procRoot: root, self: 12 })).pid, 30);
    await proc(1, ['node', BIN, 'proxy', '--metrics', ':9100']);
    assert.equal((await findBerthProcess({ procRoot: root, self: 8 })).pid, 1);
  });

  it('takes --pid as given, and refuses a process that is not berth or is gone', async () => {
    await proc(40, ['node', BIN, 'controller', '--api', ':7390']);
    await proc(41, ['postgres', '-D', '/data']);
    assert.deepEqual(await findBerthProcess({ procRoot: root, pid: 40 }), {
      pid: 40,
      invocation: { command: 'controller', args: ['--api', ':7390'] },
    });
    await assert.rejects(findBerthProcess({ procRoot: root, pid: 41 }), {
      code: 'BERTH_CLI_NO_BERTH_PROCESS',
      message: /process 41 is not berth: postgres -D \/data/,
    });
    await assert.rejects(findBerthProcess({ procRoot: root, pid: 99 }), {
      code: 'BERTH_CLI_NO_BERTH_PROCESS',
      message: 'no process 99',
    });
  });

  it('says so when no berth controller or proxy runs', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'berth-proc-empty-'));
    try {
      await writeFile(join(empty, 'uptime'), '1 1');
      await assert.rejects(findBerthProcess({ procRoot: empty, self: 5 }), {
        code: 'BERTH_CLI_NO_BERTH_PROCESS',
        message: /no berth controller or proxy runs here: give --pid or --url/,
      });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
