import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  certifySigningKey,
  createSnapshotSigner,
  hashBody,
  type Snapshot,
  type SnapshotBody,
} from '@berth/protocol';
import {
  CACHE_FILE,
  loadCachedSnapshot,
  REJECTED_CACHE_FILE,
  saveCachedSnapshot,
} from '../src/agent/snapshot-cache.js';

const run = promisify(execFile);

describe('the snapshot cache', () => {
  let root: string;
  let caPem: string;
  let signed: Snapshot;
  const dirs: string[] = [];
  const tmp = async () => {
    const d = await mkdtemp(join(root, 'node-'));
    dirs.push(d);
    return d;
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-cache-'));
    const [cert, key] = [join(root, 'ca.pem'), join(root, 'ca.key')];
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=ca',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    caPem = await readFile(cert, 'utf8');
    const signingKey = generateKeyPairSync('ed25519').privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    const signer = createSnapshotSigner(
      signingKey,
      certifySigningKey(signingKey, await readFile(key, 'utf8')),
    );
    const body: SnapshotBody = { schema: 1, entryPoints: {}, http: { routers: {}, services: {} } };
    signed = signer.sign({ epoch: 'e', version: 7, hash: hashBody(body), createdAt: '', body });
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('loads a cache the pinned CA vouches for', async () => {
    const dir = await tmp();
    await saveCachedSnapshot(dir, signed);
    assert.deepEqual(await loadCachedSnapshot(dir, caPem), { ok: true, snapshot: signed });
  });

  it('refuses an unsigned cache and keeps it aside as snapshot.json.rejected', async () => {
    const dir = await tmp();
    const { signature: _, ...unsigned } = signed;
    await writeFile(join(dir, CACHE_FILE), JSON.stringify(unsigned));
    const load = await loadCachedSnapshot(dir, caPem);
    assert.equal(load.ok, false);
    assert.equal(!load.ok && load.code, 'BERTH_SNAPSHOT_SIGNATURE');
    assert.equal(!load.ok && load.keptAs, join(dir, REJECTED_CACHE_FILE));
    assert.deepEqual(JSON.parse(await readFile(join(dir, REJECTED_CACHE_FILE), 'utf8')), unsigned);
    await assert.rejects(access(join(dir, CACHE_FILE)));
    assert.deepEqual(
      await loadCachedSnapshot(dir, caPem),
      { ok: true, snapshot: null },
      'never loaded again',
    );
  });

  it('refuses a signed cache when no CA matching the token is on disk', async () => {
    const dir = await tmp();
    await saveCachedSnapshot(dir, signed);
    const load = await loadCachedSnapshot(dir, null);
    assert.equal(!load.ok && load.code, 'BERTH_SNAPSHOT_SIGNATURE');
  });

  it('refuses a cache that is not JSON, or whose hash does not match', async () => {
    const dir = await tmp();
    await writeFile(join(dir, CACHE_FILE), '{not json');
    const unreadable = await loadCachedSnapshot(dir, caPem);
    assert.equal(!unreadable.ok && unreadable.code, 'BERTH_PROXY_CACHE_UNREADABLE');
    await writeFile(join(dir, CACHE_FILE), JSON.stringify({ ...signed, hash: '0'.repeat(64) }));
    const mismatch = await loadCachedSnapshot(dir, caPem);
    assert.equal(!mismatch.ok && mismatch.code, 'BERTH_PROTOCOL_HASH_MISMATCH');
  });
});
