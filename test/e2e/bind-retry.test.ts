// A node whose entry point's port is in use serves the others, retries the bind, and says so in its status and on /api/v1/nodes.
import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Cluster, eventually, singleRouteYaml } from '../helpers/cluster.js';
import { type Backend, startBackend, whoAnswers } from '../helpers/http.js';

interface Listener {
  entryPoint: string;
  address: string;
  state?: string;
  error?: { code: string; message: string };
}

describe('an entry point whose port is in use', () => {
  let cluster: Cluster;
  let backend: Backend;
  let squatter: Server | null = null;
  let taken = 0;

  before(async () => {
    backend = await startBackend('a');
    const held = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    squatter = held;
    taken = (held.address() as AddressInfo).port;
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', singleRouteYaml([backend.url]));
    await cluster.startController({
      staticYaml: `entryPoints:\n  web:\n    address: "127.0.0.1:0"\n  admin:\n    address: "127.0.0.1:${taken}"\nproviders:\n  file:\n    directory: ./dynamic\n`,
    });
  });

  after(async () => {
    squatter?.close();
    await cluster?.close();
    await backend?.close();
  });

  it('is reported retrying while the others serve, then bound once the port is released', async () => {
    await cluster.startNode('node-1');
    const status = await cluster.nodeStatus('node-1', (s) => s.appliedVersion > 0);
    const admin = (listeners: Listener[]) => listeners.find((l) => l.entryPoint === 'admin');
    assert.equal(admin(status.listeners)?.state, 'retrying');
    assert.equal(admin(status.listeners)?.error?.code, 'BERTH_PROXY_LISTEN');
    assert.match(admin(status.listeners)?.error?.message ?? '', /EADDRINUSE/);
    assert.equal(await whoAnswers(await cluster.webPort('node-1'), 'app.test'), 'a');
    const apiListeners = async () => {
      const nodes = await cluster.api<{ name: string; listeners: Listener[] }[]>('/api/v1/nodes');
      return nodes.find((n) => n.name === 'node-1')?.listeners ?? [];
    };
    await eventually(
      async () => admin(await apiListeners())?.state === 'retrying',
      10_000,
      () => cluster.logs(),
    );
    assert.equal(admin(await apiListeners())?.error?.code, 'BERTH_PROXY_LISTEN');

    await new Promise<void>((resolve) => squatter?.close(() => resolve()));
    squatter = null;
    const rebound = await cluster.nodeStatus('node-1', (s) => admin(s.listeners)?.state === 'bound');
    assert.equal(admin(rebound.listeners)?.address, `127.0.0.1:${taken}`);
    assert.equal(await whoAnswers(taken, 'app.test'), 'a');
    await eventually(
      async () => admin(await apiListeners())?.state === 'bound',
      10_000,
      () => cluster.logs(),
    );
  });
});
