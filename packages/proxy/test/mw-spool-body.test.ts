// Spooling request bodies: memory up to a threshold, a private temp file beyond, removed afterwards.
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { spoolBody } from '../src/http/middlewares/spool-body.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-spool-test-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function source(parts: string[]): Readable {
  return Readable.from(
    parts.map((p) => Buffer.from(p)),
    { objectMode: false },
  );
}

const signal = new AbortController().signal;

describe('spooled request bodies', () => {
  it('keeps a body under the threshold in memory only', async () => {
    const r = await spoolBody(source(['abc', 'def']), { max: 100, mem: 10, signal, dir });
    assert.equal(r.kind, 'complete');
    if (r.kind !== 'complete') return;
    assert.equal(r.body.size, 6);
    assert.equal(r.body.path, undefined);
    assert.equal(await text(r.body.open()), 'abcdef');
  });

  it('writes what goes beyond the threshold to an owner-only temp file, replays it whole, then removes it', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => `${String(i).padStart(4, '0')}-`);
    const r = await spoolBody(source(parts), { max: 1000, mem: 10, signal, dir });
    assert.equal(r.kind, 'complete');
    if (r.kind !== 'complete') return;
    assert.equal(r.body.size, 250);
    const path = r.body.path;
    assert.ok(path && existsSync(path));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(await text(r.body.open()), parts.join(''));
    await r.body.dispose();
    assert.equal(existsSync(path), false);
  });

  it('stops at the first byte beyond the maximum and leaves no file behind', async () => {
    const input = new PassThrough();
    const pending = spoolBody(input, { max: 20, mem: 5, signal, dir });
    input.write('0123456789');
    input.write('0123456789');
    input.write('!');
    assert.deepEqual(await pending, { kind: 'too-large' });
    input.destroy();
    assert.deepEqual(await readdir(dir), []);
  });

  it('reports a source that closes without ending as failed', async () => {
    const input = new PassThrough();
    const pending = spoolBody(input, { max: 100, mem: 5, signal, dir });
    input.write('0123456789');
    input.destroy();
    assert.deepEqual(await pending, { kind: 'failed' });
  });

  it('gives up when the request is abandoned', async () => {
    const abort = new AbortController();
    const input = new PassThrough();
    const pending = spoolBody(input, { max: 100, mem: 5, signal: abort.signal, dir });
    input.write('0123456789');
    abort.abort();
    assert.deepEqual(await pending, { kind: 'aborted' });
    input.destroy();
  });
});
