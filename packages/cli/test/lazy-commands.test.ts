// A command loads only its own modules: the proxy and the light commands never load the controller (fastify, PKI).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../src/command-table.js';

const bin = fileURLToPath(new URL('../src/bin.js', import.meta.url));

/** Runs `node --import <hook> bin.js ...args` and returns every module URL the process resolved. */
async function loadedBy(dir: string, args: string[]): Promise<string[]> {
  const trace = join(dir, `trace-${args.join('_').replace(/[^\w-]/g, '')}.txt`);
  await writeFile(trace, '');
  const child = spawn(process.execPath, ['--import', join(dir, 'register.mjs'), bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BERTH_TRACE_FILE: trace },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.notEqual(code, null, out);
  const urls = (await readFile(trace, 'utf8')).split('\n').filter(Boolean);
  assert.ok(
    urls.some((u) => u.endsWith('/bin.js')),
    `the hook saw the entry script: ${out}`,
  );
  return urls;
}

const heavy = (urls: string[]) =>
  urls.filter((u) => /\/packages\/controller\/|\/node_modules\/(fastify|@peculiar|yaml)\//.test(u));

describe('the berth command loads a command only when it runs', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-lazy-'));
    // A resolve hook that writes down every module URL the child resolves.
    await writeFile(
      join(dir, 'hooks.mjs'),
      [
        "import { appendFileSync } from 'node:fs';",
        'export async function resolve(s, c, next) {',
        '  const r = await next(s, c);',
        "  appendFileSync(process.env.BERTH_TRACE_FILE, r.url + '\\n');",
        '  return r;',
        '}',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'register.mjs'),
      "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n",
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('`berth --version` and `berth --help` load no command module', async () => {
    for (const args of [['--version'], ['--help']]) {
      const urls = await loadedBy(dir, args);
      assert.deepEqual(
        urls.filter((u) => u.includes('/commands/') || u.includes('/node_modules/')),
        [],
        args.join(' '),
      );
    }
  });

  it('`berth proxy` never loads @berth/controller, fastify, @peculiar/x509 or yaml', async () => {
    const urls = await loadedBy(dir, ['proxy', '--help']);
    assert.ok(
      urls.some((u) => u.includes('/packages/proxy/')),
      'the proxy command module and its data plane were loaded',
    );
    assert.deepEqual(heavy(urls), []);
  });

  it('`berth nodes`, `berth token` and `berth healthcheck` do not load the controller either', async () => {
    for (const args of [
      ['nodes', '--api', '127.0.0.1:1'],
      ['token', '--data-dir', dir],
      ['healthcheck', '--url', 'http://127.0.0.1:1/healthz', '--timeout', '1s'],
    ]) {
      assert.deepEqual(heavy(await loadedBy(dir, args)), [], args.join(' '));
    }
  });

  it('lists the same name and summary in the command table as each command module', async () => {
    for (const entry of COMMANDS) {
      const cmd = await entry.load();
      assert.equal(cmd.name, entry.name);
      assert.equal(cmd.summary, entry.summary, entry.name);
      assert.equal(cmd.hidden ?? false, entry.hidden ?? false, entry.name);
    }
  });
});
