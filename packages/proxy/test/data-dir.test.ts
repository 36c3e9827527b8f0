import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { DataDirError, secureDataDir } from '../src/agent/data-dir.js';

describe('the node data dir check', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'berth-datadir-'));
    dirs.push(d);
    return d;
  };

  it('creates a missing data dir 0700', async () => {
    const dir = join(await tmp(), 'node');
    await secureDataDir(dir, pino({ level: 'silent' }));
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  it('sets its own group- or world-writable dir to 0700 and says so', async () => {
    const dir = join(await tmp(), 'node');
    await mkdir(dir);
    await chmod(dir, 0o775);
    const lines: string[] = [];
    await secureDataDir(dir, pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }));
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal(JSON.parse(lines[0] ?? '{}').code, 'BERTH_PROXY_DATA_DIR_UNSAFE');
  });

  it('refuses a world-writable dir another user owns, and leaves it as it is', {
    skip: process.getuid?.() !== 0 && 'needs root to give the dir to another user',
  }, async () => {
    const dir = join(await tmp(), 'node');
    await mkdir(dir);
    await chown(dir, 65534, 65534);
    await chmod(dir, 0o777);
    await assert.rejects(secureDataDir(dir, pino({ level: 'silent' })), (err: unknown) => {
      assert.ok(err instanceof DataDirError);
      assert.equal(err.code, 'BERTH_PROXY_DATA_DIR_UNSAFE');
      assert.match(err.message, /writable by other users/);
      return true;
    });
    assert.equal((await stat(dir)).mode & 0o777, 0o777);
  });
});
