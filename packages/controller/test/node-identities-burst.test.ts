// A burst of enrollments (which share registry writes): every one is answered only once it is on disk.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createNodeKeyAndCsr } from '@berth/protocol';
import { NodeIdentities } from '../src/distributor/node-identities.js';
import { ensureControllerPki } from '../src/pki/controller-pki.js';

describe('node identities under a burst of enrollments', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('answers and stores all 60 concurrent enrollments, and a change after them is saved too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-identities-'));
    dirs.push(dir);
    const pki = await ensureControllerPki(dir, []);
    const registry = await NodeIdentities.open(dir, pki.issueNodeCertificate, 3600_000);
    const csrs = await Promise.all(
      Array.from({ length: 60 }, (_, i) => createNodeKeyAndCsr(`burst-${i}`).then((k) => k.csrPem)),
    );
    const enrolled = await Promise.all(csrs.map((csr, i) => registry.enroll(`burst-${i}`, csr, '127.0.0.1')));
    assert.equal(new Set(enrolled.map((e) => e.identity.id)).size, 60, 'sixty distinct ids');
    const stored = JSON.parse(await readFile(join(dir, 'nodes.json'), 'utf8')) as { nodes: { id: string }[] };
    assert.deepEqual(
      stored.nodes.map((n) => n.id).sort(),
      enrolled.map((e) => e.identity.id).sort(),
      'every enrollment is on disk once its answer is out',
    );
    // Revocation right after the burst: saved as well, and a reopened registry sees it.
    const first = enrolled[0]?.identity;
    assert.ok(first);
    await registry.revoke(first.id, first.name, null);
    const reopened = await NodeIdentities.open(dir, pki.issueNodeCertificate, 3600_000);
    assert.equal(reopened.list().length, 60);
    assert.equal(reopened.isRevoked(first.id), true);
  });
});
