// Issue 14, done when 7: a container labelled `tls.certresolver=le` with Host(...) on a real dockerd
// gets a pebble certificate on both proxy nodes; the controller (the only ACME client, the only
// process with the Docker socket) orders it, the nodes answer HTTP-01 and serve the result.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { acmeCert, curlVerified, type Setup, setUp, tearDown } from '../helpers/acme-cluster.js';
import { eventually } from '../helpers/cluster.js';
import {
  BUSYBOX_IMAGE,
  type DockerEngine,
  engineUnavailable,
  ensureBusyboxImage,
  ensureDockerEngine,
  removeTestObjects,
} from '../helpers/docker-engine.js';
import { pebbleSkip } from '../helpers/pebble.js';

const found = await ensureDockerEngine();
const pebbleMissing = await pebbleSkip();
const skip = !found.ok ? engineUnavailable(found.reason) : pebbleMissing;

describe('ACME certificates from Docker labels (real dockerd, pebble, two nodes)', { skip }, () => {
  const runId = randomBytes(4).toString('hex');
  const host = `shop-${runId}.example.test`;
  let engine: DockerEngine;
  let s: Setup | undefined;

  before(async () => {
    if (!found.ok) return;
    engine = found.engine;
    await ensureBusyboxImage(engine.docker);
    s = await setUp({ noFileRouter: true, controllerArgs: ['--docker', engine.endpoint] });
    await s.pebble.addA(host, '127.0.0.2');
    const container = await engine.docker.createContainer({
      Image: BUSYBOX_IMAGE,
      name: `berth-acme-${runId}`,
      Env: ['WHO=shop'],
      Labels: {
        'berth-test': runId,
        'traefik.enable': 'true',
        'traefik.http.routers.shop.rule': `Host(\`${host}\`)`,
        'traefik.http.routers.shop.entrypoints': 'websecure',
        'traefik.http.routers.shop.tls.certresolver': 'le',
      },
    });
    await container.start();
  });

  after(async () => {
    if (!found.ok) return;
    await removeTestObjects(engine.docker, runId).catch(() => {});
    await tearDown(s);
    await engine.release();
  });

  it('orders the certificate for the label router and both nodes serve it, chained to pebble', async () => {
    const { cluster, nodes, rootFile } = s as Setup;
    const cert = await acmeCert(cluster, (c) => c.status === 'enabled' && c.names.includes(host));
    assert.deepEqual(cert.names, [host]);
    assert.equal(cert.acme?.state, 'valid');
    for (const node of nodes) {
      const answer = await eventually(
        async () => {
          const r = await curlVerified(node.address, node.securePort, host, rootFile).catch(() => null);
          return r?.status === 200 ? r : null;
        },
        20_000,
        () => cluster.logs(),
      );
      assert.equal(answer.verify, 0);
      assert.equal(answer.body.trim(), 'shop');
    }
  });
});
