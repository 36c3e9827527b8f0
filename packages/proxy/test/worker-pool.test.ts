// The worker pool with real processes: all workers apply or none serves the snapshot, crashes are replaced.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { applyDelta, type DeltaOp, type SnapshotBody } from '@berth/protocol';
import { pino } from 'pino';
import { LISTEN_FAILED } from '../src/data-plane.js';
import { WORKER_LOST } from '../src/workers/combine-outcomes.js';
import { WorkerPool, type WorkerPoolOptions, type WorkerStatus } from '../src/workers/worker-pool.js';
import { startBackend } from './support/backend.js';
import { call } from './support/client.js';
import { body, service } from './support/snapshot.js';

const logger = pino({ level: 'silent' });
const STAND_IN = fileURLToPath(new URL('./support/stand-in-worker.js', import.meta.url));
const pools: WorkerPool[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function journalFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-pool-'));
  dirs.push(dir);
  return join(dir, 'journal');
}

async function startPool(opts: Partial<WorkerPoolOptions> = {}): Promise<WorkerPool> {
  const pool = new WorkerPool({
    workers: 2,
    logger,
    restartPolicy: { stableMs: 10_000, initialMs: 50, maxMs: 200 },
    ...opts,
  });
  pools.push(pool);
  await pool.start();
  return pool;
}

/** A body whose entry point names tell the stand-in workers what to do. */
function marked(...names: string[]): SnapshotBody {
  return body({}, {}, Object.fromEntries(names.map((n) => [n, '127.0.0.1:0'])));
}

const v = (version: number) => ({ version, epoch: 'e', hash: `h${version}` });

async function journal(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
}

async function until<T>(what: string, check: () => T | undefined | null | false): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = check();
    if (value) return value;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function versions(ws: WorkerStatus[]): number[] {
  return ws.map((w) => w.appliedVersion);
}

describe('a worker pool', () => {
  it('answers ok only once every worker applied the snapshot, and reports what each serves', async () => {
    const file = await journalFile();
    process.env['STAND_IN_JOURNAL'] = file;
    const pool = await startPool({ exec: STAND_IN });
    assert.deepEqual(
      pool.workers().map((w) => w.slot),
      [1, 2],
    );
    const result = await pool.apply(marked('web'), v(1));
    assert.deepEqual(result, { ok: true, listeners: [{ entryPoint: 'web', address: '127.0.0.1:1' }] });
    assert.deepEqual(pool.listeners(), [{ entryPoint: 'web', address: '127.0.0.1:1' }]);
    assert.deepEqual(versions(pool.workers()), [1, 1]);
    assert.ok(pool.workers().every((w) => w.state === 'serving' && w.appliedHash === 'h1'));
    assert.equal((await journal(file)).length, 2);
  });

  it("answers a worker's prometheus@internal with every worker's exposition, merged and labelled", async () => {
    const file = await journalFile();
    process.env['STAND_IN_JOURNAL'] = file;
    const pool = await startPool({ exec: STAND_IN });
    assert.equal((await pool.apply(marked('web', 'askmetrics-1'), v(1))).ok, true);
    const line = await until('the answer to reach worker 1', () => {
      const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
      return lines.find((l) => l.startsWith('1 node-metrics '));
    });
    const text = JSON.parse(line.slice('1 node-metrics '.length)) as string;
    assert.match(text, /^stand_in\{worker="1"\} 1$/m);
    assert.match(text, /^stand_in\{worker="2"\} 2$/m);
  });

  it('refuses a snapshot one worker refuses, and sends the workers that applied it back to the previous one', async () => {
    const file = await journalFile();
    process.env['STAND_IN_JOURNAL'] = file;
    const pool = await startPool({ exec: STAND_IN });
    assert.equal((await pool.apply(marked('web'), v(1))).ok, true);
    const result = await pool.apply(marked('web', 'refuse-2'), v(2));
    assert.deepEqual(result, { ok: false, code: 'BERTH_TEST_REFUSED', error: 'slot 2 refuses' });
    assert.deepEqual(versions(pool.workers()), [1, 1]);
    const lines = (await journal(file)).map((l) => l.split(' '));
    const slot1 = lines.filter((l) => l[0] === '1').map((l) => `${l[2]} ${l[3]}`);
    assert.deepEqual(slot1, ['web applied', 'refuse-2+web applied', 'web applied']);
    const slot2 = lines.filter((l) => l[0] === '2').map((l) => `${l[2]} ${l[3]}`);
    assert.deepEqual(slot2, ['web applied', 'refuse-2+web refused']);
  });

  it('does not refuse a snapshot because one worker died applying it; its replacement catches up', async () => {
    const file = await journalFile();
    process.env['STAND_IN_JOURNAL'] = file;
    let changes = 0;
    const pool = await startPool({ exec: STAND_IN, onChange: () => changes++ });
    assert.equal((await pool.apply(marked('web'), v(1))).ok, true);
    const died = pool.workers().find((w) => w.slot === 2)!;
    const result = await pool.apply(marked('web', 'die-2'), v(2));
    assert.equal(result.ok, true);
    const replaced = await until('the replacement to serve version 2', () => {
      const w = pool.workers().find((x) => x.slot === 2);
      return w && w.pid !== died.pid && w.state === 'serving' && w.appliedVersion === 2 ? w : null;
    });
    assert.equal(replaced.restarts, 1);
    assert.deepEqual(versions(pool.workers()), [2, 2]);
    assert.ok(changes > 0);
  });

  it('refuses with BERTH_PROXY_WORKER_LOST a snapshot every worker died applying, and comes back on the previous one', async () => {
    const file = await journalFile();
    process.env['STAND_IN_JOURNAL'] = file;
    const pool = await startPool({ exec: STAND_IN });
    assert.equal((await pool.apply(marked('web'), v(1))).ok, true);
    const result = await pool.apply(marked('web', 'die-all'), v(2));
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.code, WORKER_LOST);
    await until('both replacements to serve version 1', () => {
      const ws = pool.workers();
      return ws.length === 2 && ws.every((w) => w.state === 'serving' && w.appliedVersion === 1);
    });
  });

  it('kills and replaces a worker that does not answer an apply in time', async () => {
    const file = await journalFile();
    process.env['STAND_IN_JOURNAL'] = file;
    const pool = await startPool({ exec: STAND_IN, applyTimeoutMs: 1500 });
    assert.equal((await pool.apply(marked('web'), v(1))).ok, true);
    const hung = pool.workers().find((w) => w.slot === 1)!;
    assert.equal((await pool.apply(marked('web', 'hang-1'), v(2))).ok, true);
    await until('the hung worker to be replaced and catch up', () => {
      const w = pool.workers().find((x) => x.slot === 1);
      return w && w.pid !== hung.pid && w.state === 'serving' && w.appliedVersion === 2;
    });
  });

  it('kills and replaces a worker whose event loop stops answering', async () => {
    const file = await journalFile();
    process.env['STAND_IN_JOURNAL'] = file;
    const pool = await startPool({ exec: STAND_IN, heartbeatMs: 100, unresponsiveMs: 2000 });
    assert.equal((await pool.apply(marked('web'), v(1))).ok, true);
    const frozen = pool.workers().find((w) => w.slot === 1)!;
    assert.equal((await pool.apply(marked('web', 'freeze-1'), v(2))).ok, true);
    await until('the frozen worker to be replaced and catch up', () => {
      const w = pool.workers().find((x) => x.slot === 1);
      return w && w.pid !== frozen.pid && w.state === 'serving' && w.appliedVersion === 2;
    });
    const other = pool.workers().find((w) => w.slot === 2)!;
    assert.equal(other.restarts, 0, 'a live worker is left alone');
  });

  it('brings a worker replaced while snapshots keep coming to the newest one', async () => {
    const file = await journalFile();
    process.env['STAND_IN_JOURNAL'] = file;
    const pool = await startPool({ exec: STAND_IN });
    assert.equal((await pool.apply(marked('web'), v(1))).ok, true);
    const victim = pool.workers().find((w) => w.slot === 1)!;
    process.kill(victim.pid, 'SIGKILL');
    const results = await Promise.all([2, 3, 4].map((n) => pool.apply(marked('web', `v${n}`), v(n))));
    assert.ok(results.every((r) => r.ok));
    await until('both workers to serve version 4', () => {
      const ws = pool.workers();
      return ws.length === 2 && ws.every((w) => w.state === 'serving' && w.appliedVersion === 4);
    });
    const replacement = pool.workers().find((w) => w.slot === 1)!;
    assert.notEqual(replacement.pid, victim.pid);
    const last = (await journal(file)).filter((l) => l.startsWith(`1 ${replacement.pid} `)).at(-1);
    assert.equal(last?.split(' ')[2], 'v4+web');
  });

  it('on close, kills a worker that does not stop in time, and replaces nobody', async () => {
    const file = await journalFile();
    process.env['STAND_IN_JOURNAL'] = file;
    const pool = await startPool({ exec: STAND_IN, stopTimeoutMs: 300 });
    assert.equal((await pool.apply(marked('web', 'deaf-1'), v(1))).ok, true);
    const pids = pool.workers().map((w) => w.pid);
    await pool.close();
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await sleep(200);
    assert.deepEqual(pool.workers(), []);
  });

  it('replaces a worker each time it is killed, counting the restarts of its slot', async () => {
    const file = await journalFile();
    process.env['STAND_IN_JOURNAL'] = file;
    const pool = await startPool({ exec: STAND_IN });
    assert.equal((await pool.apply(marked('web'), v(1))).ok, true);
    const exits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const w = await until('a serving worker in slot 2', () =>
        pool.workers().find((x) => x.slot === 2 && x.state === 'serving'),
      );
      exits.push(Date.now());
      process.kill(w.pid, 'SIGKILL');
      await until('slot 2 to be replaced', () =>
        pool.workers().find((x) => x.slot === 2 && x.pid !== w.pid && x.state === 'serving'),
      );
    }
    const last = pool.workers().find((x) => x.slot === 2)!;
    assert.equal(last.restarts, 3);
    assert.equal(last.appliedVersion, 1);
  });

  it("sends the whole body to a worker that cannot apply a delta's ops", async () => {
    const file = await journalFile();
    process.env['STAND_IN_JOURNAL'] = file;
    const pool = await startPool({ exec: STAND_IN });
    const first = marked('web');
    assert.ok((await pool.apply(first, v(1))).ok);
    const ops: DeltaOp[] = [{ op: 'set', path: ['entryPoints', 'api'], value: { address: '127.0.0.1:0' } }];
    const second = applyDelta(first, ops);
    const result = await pool.apply(second, v(2), { base: first, ops });
    assert.ok(result.ok);
    const lines = await journal(file);
    assert.equal(lines.filter((l) => l.endsWith('ops refused')).length, 2);
    assert.equal(lines.filter((l) => l.endsWith('api+web applied')).length, 2);
    assert.deepEqual(versions(pool.workers()), [2, 2]);
  });
});

describe('a worker pool of real data planes', () => {
  it('binds one shared port for `127.0.0.1:0` and serves through it', async () => {
    const backend = await startBackend('a');
    try {
      const pool = await startPool({ entryPointOverrides: { web: '127.0.0.1:0' }, closeDrainMs: 100 });
      const snapshot = body(
        { app: { rule: 'Host(`app.test`)', service: 'app' } },
        { app: service(backend.url) },
      );
      const result = await pool.apply(snapshot, v(1));
      if (!result.ok) assert.fail(`${result.code}: ${result.error}`);
      assert.equal(result.listeners.length, 1);
      const address = result.listeners[0]!.address;
      const port = Number(address.slice(address.lastIndexOf(':') + 1));
      assert.ok(port > 0);
      for (let i = 0; i < 4; i++) {
        const res = await call(port, { host: 'app.test' });
        assert.equal(res.status, 200);
        assert.equal(res.body, 'a');
      }
      assert.equal(backend.seen.length, 4);
    } finally {
      await backend.close();
    }
  });

  it('applies a delta as its ops in every worker, which then serve its body', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    try {
      const pool = await startPool({ entryPointOverrides: { web: '127.0.0.1:0' }, closeDrainMs: 100 });
      const first = body({ app: { rule: 'Host(`app.test`)', service: 'app' } }, { app: service(a.url) });
      const applied = await pool.apply(first, v(1));
      if (!applied.ok) assert.fail(`${applied.code}: ${applied.error}`);
      const address = applied.listeners[0]!.address;
      const port = Number(address.slice(address.lastIndexOf(':') + 1));
      let base = first;
      for (let version = 2; version <= 4; version++) {
        // A route added each time, and the first one moved from one backend to the other.
        const ops: DeltaOp[] = [
          {
            op: 'set',
            path: ['http', 'routers', `r${version}`],
            value: { rule: `Host(\`r${version}.test\`)`, service: 'app' },
          },
          { op: 'set', path: ['http', 'services', 'app'], value: service(version % 2 ? a.url : b.url) },
        ];
        const next = applyDelta(base, ops);
        const result = await pool.apply(next, v(version), { base, ops });
        if (!result.ok) assert.fail(`${result.code}: ${result.error}`);
        const expected = version % 2 ? 'a' : 'b';
        // Enough requests to reach both workers (the primary hands connections round robin).
        for (let i = 0; i < 4; i++) {
          assert.equal((await call(port, { host: 'app.test' })).body, expected);
          assert.equal((await call(port, { host: `r${version}.test` })).body, expected);
        }
        base = next;
      }
      assert.deepEqual(versions(pool.workers()), [4, 4]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('serves on the address it reports after every worker was killed at once', async () => {
    const backend = await startBackend('a');
    try {
      const pool = await startPool({ entryPointOverrides: { web: '127.0.0.1:0' }, closeDrainMs: 100 });
      const snapshot = body(
        { app: { rule: 'Host(`app.test`)', service: 'app' } },
        { app: service(backend.url) },
      );
      assert.equal((await pool.apply(snapshot, v(1))).ok, true);
      const before = pool.workers();
      for (const w of before) process.kill(w.pid, 'SIGKILL');
      await until('both slots to serve version 1 again', () => {
        const ws = pool.workers();
        return (
          ws.length === 2 &&
          ws.every(
            (w) => w.state === 'serving' && w.appliedVersion === 1 && !before.some((b) => b.pid === w.pid),
          )
        );
      });
      const address = pool.listeners()[0]!.address;
      const res = await call(Number(address.slice(address.lastIndexOf(':') + 1)), { host: 'app.test' });
      assert.equal(res.status, 200);
    } finally {
      await backend.close();
    }
  });

  it('serves the other entry points while one waits for a port in use, and reports it listening once released', async () => {
    const backend = await startBackend('a');
    const squatter = createNetServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    let squatterOpen = true;
    const taken = (squatter.address() as AddressInfo).port;
    try {
      let changes = 0;
      const pool = await startPool({
        entryPointOverrides: { web: '127.0.0.1:0' },
        closeDrainMs: 100,
        onListenersChange: () => changes++,
      });
      const routes = { app: { rule: 'Host(`app.test`)', service: 'app' } };
      const result = await pool.apply(
        body(routes, { app: service(backend.url) }, { web: ':80', admin: `127.0.0.1:${taken}` }),
        v(1),
      );
      if (!result.ok) assert.fail(result.error);
      assert.deepEqual(versions(pool.workers()), [1, 1]);
      const admin = () => pool.listeners().find((l) => l.entryPoint === 'admin');
      assert.equal(admin()?.state, 'retrying');
      assert.equal(admin()?.error?.code, LISTEN_FAILED);
      const web = pool.listeners().find((l) => l.entryPoint === 'web')!;
      assert.equal(web.state, 'bound');
      const port = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
      assert.equal((await call(port(web.address), { host: 'app.test' })).status, 200);

      await new Promise<void>((resolve) => squatter.close(() => resolve()));
      squatterOpen = false;
      await until('the retried bind', () => admin()?.state === 'bound');
      assert.ok(changes > 0, 'the pool said its listeners changed');
      assert.deepEqual(admin(), { entryPoint: 'admin', address: `127.0.0.1:${taken}`, state: 'bound' });
      assert.equal((await call(taken, { host: 'app.test' })).status, 200);
    } finally {
      if (squatterOpen) squatter.close();
      await backend.close();
    }
  });
});
