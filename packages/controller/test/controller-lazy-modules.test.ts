// A controller on a file alone starts without the modules only other set-ups need: no dockerode, no OCSP stack, and on a restart no x509.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const controllerModule = pathToFileURL(fileURLToPath(new URL('../src/controller.js', import.meta.url))).href;

// Module hooks run on their own thread in Node 20: each loaded URL is appended to a file.
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.LOADED_LIST, url + '\\n');
  return next(url, context);
}
`;

const CHILD = `import { register } from 'node:module';
import { pino } from 'pino';
register(process.env.HOOKS_URL);
const { startController } = await import(process.env.CONTROLLER_MODULE);
const controller = await startController({
  dataDir: process.env.DATA_DIR,
  providerFile: process.env.DYNAMIC_FILE,
  ...(process.env.CONFIG_FILE ? { configFile: process.env.CONFIG_FILE } : {}),
  listen: '127.0.0.1:0',
  api: '127.0.0.1:0',
  logger: pino({ level: 'silent' }),
});
await controller.close();
`;

describe('the controller’s start on a file alone', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-lazy-modules-'));
    await writeFile(join(dir, 'hooks.mjs'), HOOKS);
    await writeFile(
      join(dir, 'routes.yml'),
      'http:\n  routers:\n    r:\n      rule: Host(`a.test`)\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:9\n',
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The module URLs one start (and close) of a controller on `data` loaded. */
  async function loadedBy(name: string, configFile?: string): Promise<string[]> {
    const list = join(dir, `${name}.txt`);
    await writeFile(list, '');
    await run(process.execPath, ['--input-type=module', '-e', CHILD], {
      // The package's directory: `pino` in the script resolves from there.
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: {
        ...process.env,
        LOADED_LIST: list,
        HOOKS_URL: pathToFileURL(join(dir, 'hooks.mjs')).href,
        CONTROLLER_MODULE: controllerModule,
        DATA_DIR: join(dir, 'data'),
        DYNAMIC_FILE: join(dir, 'routes.yml'),
        CONFIG_FILE: configFile ?? '',
      },
    });
    return (await readFile(list, 'utf8')).split('\n').filter((l) => l !== '');
  }

  it('loads neither dockerode nor OCSP, and no x509 once its certificates exist', async () => {
    const first = await loadedBy('first');
    assert.ok(
      first.some((u) => u.endsWith('/controller.js')),
      'the hook saw the controller load',
    );
    const restart = await loadedBy('restart');
    // A static file with entry points only: reading it (Docker endpoint syntax included) needs no client.
    await writeFile(join(dir, 'berth.yml'), 'entryPoints:\n  web:\n    address: 127.0.0.1:0\n');
    const withConfig = await loadedBy('config', join(dir, 'berth.yml'));
    assert.ok(
      withConfig.some((u) => u.endsWith('/controller-config.js')),
      'the static file was read',
    );
    for (const urls of [first, restart, withConfig]) {
      assert.deepEqual(
        urls.filter((u) =>
          /\/dockerode\/|\/docker-client\.js|\/swarm-client\.js|\/ocsp\.js|\/asn1-ocsp\//.test(u),
        ),
        [],
      );
    }
    // The first start created the CA and certificates with x509; a restart reads them back without it.
    assert.ok(first.some((u) => u.includes('/@peculiar/x509/')));
    assert.deepEqual(
      restart.filter((u) => u.includes('/@peculiar/x509/') || u.includes('/reflect-metadata/')),
      [],
    );
  });
});
