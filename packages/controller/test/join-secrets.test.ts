// The join secret and its rotation: the old one refused at once or after its grace period, across restarts.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JoinSecrets } from '../src/distributor/join-secrets.js';

describe('join secrets', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-secrets-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('creates a secret once, 0600, and matches only it', async () => {
    const s = await JoinSecrets.open(dir);
    assert.equal((await stat(join(dir, 'join-secret'))).mode & 0o777, 0o600);
    assert.equal((await JoinSecrets.open(dir)).current, s.current, 'kept across restarts');
    assert.equal(s.match(s.current), 'current');
    assert.equal(s.match(`${s.current}x`), null);
    assert.equal(s.match(''), null);
  });

  it('refuses the old secret at once after a rotation without grace', async () => {
    const s = await JoinSecrets.open(dir);
    const old = s.current;
    const { secret, previousExpiresAt } = await s.rotate(0);
    assert.notEqual(secret, old);
    assert.equal(previousExpiresAt, null);
    assert.equal(s.match(old), null);
    assert.equal(s.match(secret), 'current');
    assert.equal((await readFile(join(dir, 'join-secret'), 'utf8')).trim(), secret);
    assert.equal((await JoinSecrets.open(dir)).match(old), null, 'and after a restart');
  });

  it('keeps the old secret for the grace period, across a restart, and not after it', async () => {
    const s = await JoinSecrets.open(dir);
    const old = s.current;
    await s.rotate(300);
    assert.equal(s.match(old), 'previous');
    const reopened = await JoinSecrets.open(dir);
    assert.equal(reopened.match(old), 'previous');
    assert.equal((await stat(join(dir, 'join-secret.previous.json'))).mode & 0o777, 0o600);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(s.match(old), null);
    assert.equal(reopened.previousExpiresAt, null);
  });
});
