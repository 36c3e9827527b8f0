// A real controller whose configuration has basicAuth users (inline and from a usersFile): no API route shows a hash.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { buildApi } from '../src/api/api-server.js';
import { type ControllerHandle, startController } from '../src/controller.js';
import { SnapshotStore } from '../src/store/snapshot-store.js';

// htpasswd -nbs alice secret / apr1 and bcrypt shapes: the verifier accepts them, the API must never show them.
const INLINE_HASH = '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=';
const FILE_HASH = '$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/';
const BCRYPT_HASH = '$2y$05$c4WoMPo3SXsafkva.HHa6uXQZWr7oboPiC2bT/r7q1BB8I2s0BRqC';

/** Every route the API serves, with a concrete path for each; the test checks none is missing. */
const ROUTES = [
  '/healthz',
  '/api/v1/status',
  '/api/v1/snapshot',
  '/api/v1/snapshot/body',
  '/api/v1/services',
  '/api/v1/nodes',
  '/api/v1/nodes/none/stats',
  '/api/v1/routers',
  '/api/v1/middlewares',
  '/api/v1/tcp/routers',
  '/api/v1/tcp/services',
  '/api/v1/udp/routers',
  '/api/v1/udp/services',
  '/api/v1/certs',
  '/api/v1/errors',
  '/metrics',
];

describe('API and basicAuth hashes', () => {
  let dir: string;
  let controller: ControllerHandle;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-api-secrets-'));
    const dynamic = join(dir, 'dynamic');
    await mkdir(dynamic);
    await writeFile(join(dynamic, 'users.htpasswd'), `bob:${FILE_HASH}\ncarol:${BCRYPT_HASH}\n`);
    await writeFile(
      join(dynamic, 'auth.yml'),
      `http:
  routers:
    admin:
      rule: Host(\`admin.test\`)
      service: app
      middlewares: [inline, fromfile]
  middlewares:
    inline:
      basicAuth:
        users: ["alice:${INLINE_HASH}"]
    fromfile:
      basicAuth:
        usersFile: users.htpasswd
  services:
    app:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:9" }]
`,
    );
    controller = await startController({
      dataDir: join(dir, 'data'),
      listen: '127.0.0.1:0',
      api: '127.0.0.1:0',
      providerFile: dynamic,
      entryPoints: { web: { address: ':80' } },
      logger: pino({ level: 'silent' }),
    });
  });

  after(async () => {
    await controller?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every route of the API here', async () => {
    const app = buildApi({
      store: await SnapshotStore.open(join(dir, 'empty')),
      nodes: { list: () => [] },
      state: () => ({ compile: null, startedAt: '', epoch: '' }),
    });
    await app.ready();
    const gets = app.printRoutes({ commonPrefix: false }).match(/\(GET/g) ?? [];
    assert.equal(gets.length, ROUTES.length, app.printRoutes({ commonPrefix: false }));
  });

  it('sends nodes the hashes, and shows no hash on any API route', async () => {
    // The nodes need them: the controller read the usersFile into the snapshot.
    const sent = JSON.stringify(controller.store.current?.body);
    for (const hash of [INLINE_HASH, FILE_HASH, BCRYPT_HASH]) assert.ok(sent.includes(hash));

    for (const path of ROUTES) {
      const res = await fetch(`${controller.apiUrl}${path}`);
      const text = await res.text();
      for (const hash of [INLINE_HASH, FILE_HASH, BCRYPT_HASH]) {
        assert.equal(text.includes(hash), false, `${path} shows a hash: ${text}`);
        // Not even the part after the salt.
        assert.equal(text.includes(hash.slice(-16)), false, `${path} shows part of a hash`);
      }
    }
    const body = (await (await fetch(`${controller.apiUrl}/api/v1/snapshot/body`)).json()) as {
      body: { http: { middlewares: Record<string, { basicAuth: { users: string[] } }> } };
    };
    assert.deepEqual(body.body.http.middlewares['inline@file']?.basicAuth.users, ['alice:[redacted]']);
    assert.deepEqual(body.body.http.middlewares['fromfile@file']?.basicAuth.users, [
      'bob:[redacted]',
      'carol:[redacted]',
    ]);
  });
});
