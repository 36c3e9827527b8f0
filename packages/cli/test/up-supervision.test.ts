// `berth up` restarts a dead node with backoff, and reads from a node's log why it cannot serve.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChildGroup } from '../src/process/child-group.js';
import { refusedForListen, waitForNodeReady } from '../src/process/node-readiness.js';
import { NODE_BACKOFF, nextDelay } from '../src/process/supervisor.js';

describe('restart backoff', () => {
  it('waits 0.5 s first, doubles up to 10 s, and starts over once the node ran 30 s', () => {
    const seen: number[] = [];
    let d: number | null = null;
    for (let i = 0; i < 8; i++) {
      d = nextDelay(NODE_BACKOFF, d, 100);
      seen.push(d);
    }
    assert.deepEqual(seen, [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    assert.equal(nextDelay(NODE_BACKOFF, 10_000, 30_000), 500);
  });
});

describe('a node that refuses its snapshot because it cannot bind', () => {
  it('is recognised by its BERTH_PROXY_LISTEN log line, with the reason', () => {
    const log = [
      '{"level":30,"msg":"starting"}',
      'not json BERTH_PROXY_LISTEN',
      JSON.stringify({
        level: 40,
        version: 1,
        code: 'BERTH_PROXY_LISTEN',
        err: 'entry point "web": cannot listen on 127.0.0.1:8080: address already in use (EADDRINUSE)',
        msg: 'refusing snapshot; keeping the previous one',
      }),
    ].join('\n');
    assert.equal(
      refusedForListen(log),
      'entry point "web": cannot listen on 127.0.0.1:8080: address already in use (EADDRINUSE)',
    );
    assert.equal(refusedForListen('{"code":"BERTH_PROXY_LISTEN","msg":"retrying the bind"}'), null);
  });
});

describe('a node started by `berth up` next to a controller at version 4', () => {
  it('is not ready while it serves version 3 from its cache, nor a version of another epoch; it is at 4', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-ready-'));
    const group = new ChildGroup();
    const child = group.spawn('node-1', process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      const statusFile = join(dir, 'status.json');
      const status = async (appliedVersion: number, appliedEpoch: string) =>
        writeFile(
          statusFile,
          JSON.stringify({
            pid: child.pid,
            appliedVersion,
            appliedEpoch,
            listeners: [{ entryPoint: 'web', address: '127.0.0.1:8080', state: 'bound' }],
          }),
        );
      const wait = () =>
        waitForNodeReady(child, {
          entryPoints: ['web'],
          statusFile,
          timeoutMs: 300,
          current: { epoch: 'e1', version: 4 },
        });
      await status(3, 'e1');
      await assert.rejects(wait(), /was not serving after .*"appliedVersion":3/);
      await status(7, 'e0');
      await assert.rejects(wait(), { code: 'BERTH_CLI_NODE_NOT_READY' });
      await status(4, 'e1');
      await wait();
    } finally {
      child.proc.kill('SIGKILL');
      await child.exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
