// The controller with `providers.docker` in its static file: started from the settings, its state in /api/v1/status.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { type ControllerHandle, startController } from '../src/controller.js';
import type { ContainerDecoder } from '../src/provider/docker/container-facts.js';

const decode: ContainerDecoder = () => [];

describe('providers.docker in the controller', () => {
  const opened: { dir: string; controller: ControllerHandle }[] = [];
  after(async () => {
    for (const { dir, controller } of opened) {
      await controller.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  async function start(yaml: string, withDecoder: boolean) {
    const dir = await mkdtemp(join(tmpdir(), 'berth-ctl-docker-'));
    await writeFile(join(dir, 'berth.yaml'), yaml);
    const controller = await startController({
      dataDir: join(dir, 'data'),
      configFile: join(dir, 'berth.yaml'),
      listen: '127.0.0.1:0',
      api: '127.0.0.1:0',
      logger: pino({ level: 'silent' }),
      ...(withDecoder ? { dockerDecoder: decode } : {}),
    });
    opened.push({ dir, controller });
    const api = async <T>(path: string) => (await (await fetch(`${controller.apiUrl}${path}`)).json()) as T;
    return { controller, api, dir };
  }

  it('starts even when Docker cannot be reached, and says so in the status and the errors', async () => {
    const { api } = await start(
      `providers:\n  docker:\n    endpoint: unix:///nonexistent-${process.pid}/docker.sock\n`,
      true,
    );
    const status = await api<{
      docker?: { state: string; endpoint: string; lastError: { code: string } | null };
    }>('/api/v1/status');
    assert.equal(status.docker?.state, 'unreachable');
    assert.equal(status.docker?.lastError?.code, 'BERTH_DOCKER_UNREACHABLE');
    assert.equal(status.docker?.endpoint, `unix:///nonexistent-${process.pid}/docker.sock`);
    const errors = await api<{ code: string; path: string }[]>('/api/v1/errors');
    assert.ok(
      errors.some((e) => e.code === 'BERTH_DOCKER_UNREACHABLE' && e.path === 'providers.docker'),
      JSON.stringify(errors),
    );
  });

  it('reports a providers.docker setting it cannot use instead of ignoring it', async () => {
    const { api } = await start('providers:\n  docker:\n    exposedByDefault: maybe\n', true);
    const errors = await api<{ code: string; path: string }[]>('/api/v1/errors');
    assert.deepEqual(
      errors.map((e) => `${e.code} ${e.path}`),
      ['BERTH_DOCKER_SETTING_INVALID providers.docker.exposedByDefault'],
    );
    const status = await api<{ docker?: unknown }>('/api/v1/status');
    assert.equal(status.docker, undefined);
  });
});
