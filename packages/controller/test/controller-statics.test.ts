// A real controller reading its static file: every section it accepts reaches the snapshot nodes get, and edits of the file follow.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type ControllerHandle, startController } from '../src/controller.js';

const STATIC = `entryPoints:
  web:
    address: ":80"
    transport: { respondingTimeouts: { readTimeout: 30s, idleTimeout: 180s } }
    forwardedHeaders: { trustedIPs: ["10.0.0.0/8"] }
    http2: { keepAlive: { interval: 20s, timeout: 5s } }
accessLog: { sampling: 0.1 }
routeRemovalGrace: 30s
tls: { defaultProfile: compatible }
`;

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(check(), `timed out waiting for ${what}`);
}

describe('the controller’s static settings', () => {
  let dir: string;
  let controller: ControllerHandle;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ctl-statics-'));
    await writeFile(join(dir, 'berth.yaml'), STATIC);
    controller = await startController({
      dataDir: join(dir, 'data'),
      configFile: join(dir, 'berth.yaml'),
      listen: '127.0.0.1:0',
      api: '127.0.0.1:0',
      logger: pino({ level: 'silent' }),
    });
  });
  after(async () => {
    await controller?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts accessLog, routeRemovalGrace and the entry point settings of berth.yaml in the snapshot', () => {
    const body = controller.store.current?.body;
    assert.ok(body);
    assert.deepEqual(body.accessLog, { sampling: 0.1 });
    assert.equal(body.routeRemovalGrace, '30s');
    assert.deepEqual(body.entryPoints['web'], {
      address: ':80',
      transport: { respondingTimeouts: { readTimeout: '30s', idleTimeout: '180s' } },
      forwardedHeaders: { trustedIPs: ['10.0.0.0/8'] },
      http2: { keepAlive: { interval: '20s', timeout: '5s' } },
    });
  });

  it('publishes a new snapshot when they are edited, and drops them when removed', async () => {
    const first = controller.store.current?.version ?? 0;
    await writeFile(
      join(dir, 'berth.yaml'),
      STATIC.replace('sampling: 0.1', 'enabled: false').replace('30s\n', '5s\n'),
    );
    await eventually(() => (controller.store.current?.version ?? 0) > first, 'the edit to be published');
    assert.deepEqual(controller.store.current?.body.accessLog, { enabled: false });
    assert.equal(controller.store.current?.body.routeRemovalGrace, '5s');

    const second = controller.store.current?.version ?? 0;
    await writeFile(join(dir, 'berth.yaml'), 'entryPoints:\n  web:\n    address: ":80"\n');
    await eventually(() => (controller.store.current?.version ?? 0) > second, 'the removal to be published');
    assert.equal(controller.store.current?.body.accessLog, undefined);
    assert.equal(controller.store.current?.body.routeRemovalGrace, undefined);
  });
});
