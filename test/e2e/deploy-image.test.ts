// Issue 12, test 1: the deploy image builds from deploy/Dockerfile (on a base made from this machine's Node), runs as a non-root user and needs no shell.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type BerthImage, buildBerthImage, REPO_ROOT } from '../helpers/berth-image.js';
import {
  type DockerEngine,
  engineUnavailable,
  ensureDockerEngine,
  removeTestObjects,
} from '../helpers/docker-engine.js';

const found = await ensureDockerEngine();
const skip = found.ok ? false : engineUnavailable(found.reason);

const exec = promisify(execFile);
const MiB = 1024 * 1024;

interface ImageConfig {
  User: string;
  Entrypoint: string[] | null;
  Cmd: string[] | null;
  WorkingDir: string;
  Env: string[];
  ExposedPorts?: Record<string, object>;
  Labels: Record<string, string> | null;
  Healthcheck?: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; Retries: number };
}

describe('the deploy image', { skip }, () => {
  const runId = randomBytes(4).toString('hex');
  let engine: DockerEngine;
  let image: BerthImage;
  let config: ImageConfig;
  let buildSeconds: number;

  /** `docker run --rm` of the image (labelled with the run id), its stdout. */
  async function run(args: string[], entrypoint?: string): Promise<string> {
    const { stdout } = await exec(
      'docker',
      [
        'run',
        '--rm',
        '--network',
        'none',
        '--label',
        `berth-test=${runId}`,
        ...(entrypoint === undefined ? [] : ['--entrypoint', entrypoint]),
        image.tag,
        ...args,
      ],
      { env: { ...process.env, DOCKER_HOST: engine.endpoint }, timeout: 60_000 },
    );
    return stdout;
  }

  before(async () => {
    if (!found.ok) return;
    engine = found.engine;
    const started = performance.now();
    image = await buildBerthImage(engine);
    buildSeconds = (performance.now() - started) / 1000;
    config = ((await engine.docker.getImage(image.tag).inspect()) as unknown as { Config: ImageConfig })
      .Config;
  });

  after(async () => {
    if (!found.ok) return;
    await removeTestObjects(engine.docker, runId).catch(() => {});
    await engine.release();
  });

  it('runs as the unprivileged user 10001, in its state directory', () => {
    assert.equal(config.User, '10001:10001');
    assert.equal(config.WorkingDir, '/var/lib/berth');
    assert.ok(config.Env.includes('NODE_ENV=production'), config.Env.join(' '));
    assert.deepEqual(Object.keys(config.ExposedPorts ?? {}).sort(), ['443/tcp', '80/tcp']);
    assert.equal(config.Labels?.['org.opencontainers.image.licenses'], 'Apache-2.0');
    assert.equal(config.Labels?.['org.opencontainers.image.title'], 'Berth');
  });

  it('starts node and asks the process for its health in exec form, with no shell', async () => {
    assert.deepEqual(config.Entrypoint, ['node', '/app/packages/cli/bin/berth.js']);
    assert.deepEqual(config.Cmd, ['--help']);
    assert.deepEqual(config.Healthcheck?.Test, [
      'CMD',
      'node',
      '/app/packages/cli/bin/berth.js',
      'healthcheck',
    ]);
    assert.equal(config.Healthcheck?.Retries, 3);
    // Every layer the runtime stage adds on the base is an instruction the builder applies itself
    // (`#(nop)`): no RUN, so the stage would build on a base without /bin/sh too.
    type History = { CreatedBy: string }[];
    const history = (await engine.docker.getImage(image.tag).history()) as History;
    const base = (await engine.docker.getImage(image.baseImage).history()) as History;
    const own = history.slice(0, history.length - base.length).map((h) => h.CreatedBy);
    assert.ok(own.length > 0);
    const runs = own.filter((step) => !step.includes('#(nop)'));
    assert.deepEqual(runs, [], `the runtime stage runs commands:\n${runs.join('\n')}`);
  });

  it('prints the version of the checkout', async (t) => {
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal((await run(['--version'])).trim(), `berth ${version}`);
    const size = ((await engine.docker.getImage(image.tag).inspect()) as { Size: number }).Size;
    const baseSize = ((await engine.docker.getImage(image.baseImage).inspect()) as { Size: number }).Size;
    t.diagnostic(
      `${image.tag}: ${image.built ? `built in ${buildSeconds.toFixed(0)} s (log ${image.logFile})` : 'reused (same sources)'}`,
    );
    t.diagnostic(
      `image size ${(size / MiB).toFixed(1)} MiB (base ${image.baseImage} ${(baseSize / MiB).toFixed(1)} MiB, Berth's layers ${((size - baseSize) / MiB).toFixed(1)} MiB)`,
    );
  });

  it('takes the role from the command: controller or proxy', async () => {
    assert.match(await run(['controller', '--help']), /^Usage: berth controller/);
    assert.match(await run(['proxy', '--help']), /^Usage: berth proxy/);
  });

  it('holds compiled code and production dependencies only, read-only for the app', async () => {
    const probe = `
      const fs = require('node:fs');
      const path = require('node:path');
      const writable = (p) => { try { fs.accessSync(p, fs.constants.W_OK); return true; } catch { return false; } };
      const found = [];
      const walk = (dir) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
          const p = path.join(dir, e.name);
          if (e.isSymbolicLink()) continue;
          if (e.isDirectory()) { if (e.name === 'test' || e.name === 'src' && !dir.endsWith('dist')) found.push(p); else walk(p); }
          else if (/\\.(ts|map|tsbuildinfo)$/.test(e.name)) found.push(p);
        }
      };
      walk('/app/packages');
      console.log(JSON.stringify({
        uid: process.getuid(),
        app: writable('/app') || writable('/app/packages/cli/dist/src') || writable('/app/node_modules'),
        state: writable('/var/lib/berth'),
        stateMode: (fs.statSync('/var/lib/berth').mode & 0o777).toString(8),
        dev: ['typescript', '@biomejs/biome', 'turbo', '@types/node'].filter((m) => fs.existsSync('/app/node_modules/' + m)),
        found,
        linked: require.resolve('@berth/proxy', { paths: ['/app/packages/cli'] }),
      }));`;
    const seen = JSON.parse(await run(['-e', probe], 'node')) as Record<string, unknown>;
    assert.deepEqual(seen, {
      uid: 10001,
      app: false,
      state: true,
      stateMode: '700',
      dev: [],
      found: [],
      linked: '/app/packages/proxy/dist/src/index.js',
    });
  });
});
