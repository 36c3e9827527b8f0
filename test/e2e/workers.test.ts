// Multi-core: a node's workers share its ports, each applies every snapshot, and a crashed one is replaced.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Agent, createServer as createHttpServer, type Server as HttpServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, eventually, type NodeStatus, type WorkerStatus } from '../helpers/cluster.js';
import { alive, socketOwners } from '../helpers/socket-owner.js';

interface Answer {
  status: number;
  body: string;
  /** The client side port of the connection that carried the request. */
  localPort: number;
}

/** One keep-alive connection (re-opened by the agent when the node closes it). */
class Connection {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  constructor(readonly port: number) {}

  get(path = '/', timeoutMs = 5000): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: this.port, path, headers: { host: 'app.test' }, agent: this.agent },
        (res) => {
          // Read now: once the response ends the socket goes back to the agent.
          const localPort = res.socket.localPort ?? 0;
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, localPort }));
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A backend answering `backend=a`; `/slow` answers after `slowMs`. */
async function startBackend(
  slowMs = 800,
): Promise<{ url: string; slowArrived: () => number; close(): Promise<void> }> {
  let slow = 0;
  const server: HttpServer = createHttpServer((req, res) => {
    req.resume();
    const answer = () => res.end('backend=a');
    if (req.url === '/slow') {
      slow++;
      setTimeout(answer, slowMs);
    } else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    slowArrived: () => slow,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const routes = (url: string) =>
  `http:\n  routers:\n    app:\n      rule: Host(\`app.test\`)\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: ${url}\n`;

function workersOf(status: NodeStatus): WorkerStatus[] {
  assert.ok(status.workers, `no workers in the status: ${JSON.stringify(status)}`);
  return status.workers;
}

function allServing(status: NodeStatus, count: number): boolean {
  const w = status.workers ?? [];
  return (
    w.length === count &&
    w.every((x) => x.state === 'serving' && x.appliedVersion === status.appliedVersion && x.pid > 0)
  );
}

describe('a node with --workers 2', () => {
  let cluster: Cluster;
  let backend: Awaited<ReturnType<typeof startBackend>>;
  const connections: Connection[] = [];

  const connect = (port: number): Connection => {
    const c = new Connection(port);
    connections.push(c);
    return c;
  };

  /** The worker pid holding the connection that answered `answer`. */
  const ownerOf = async (port: number, answer: Answer, pids: number[]): Promise<number> => {
    const owners = await socketOwners(port, answer.localPort, pids);
    assert.equal(owners.length, 1, `connection from :${answer.localPort} held by ${JSON.stringify(owners)}`);
    return owners[0]!;
  };

  before(async () => {
    backend = await startBackend();
    cluster = await Cluster.create();
    await cluster.writeDynamic('routes.yml', routes(backend.url));
    await cluster.startController();
    await cluster.startNode('node-1', { workers: 2 });
  });

  after(async () => {
    for (const c of connections) c.close();
    await cluster?.close();
    await backend?.close();
  });

  it('runs two worker processes that each serve the applied version on one shared port', async () => {
    const status = await cluster.nodeStatus('node-1', (s) => allServing(s, 2));
    const workers = workersOf(status);
    assert.equal(new Set(workers.map((w) => w.pid)).size, 2);
    assert.ok(workers.every((w) => w.pid !== status.pid));
    const primaryEnv = await readFile(`/proc/${status.pid}/environ`, 'utf8');
    assert.ok(primaryEnv.includes('BERTH_JOIN_TOKEN='), 'the node itself was given the token');
    for (const w of workers) {
      const env = await readFile(`/proc/${w.pid}/environ`, 'utf8');
      assert.ok(!env.includes('BERTH_JOIN_TOKEN='), 'workers do not hold the join token');
    }
    assert.deepEqual(
      status.listeners.map((l) => l.entryPoint),
      ['web'],
    );
    const port = await cluster.webPort('node-1');
    assert.ok(port > 0);
    const r = await connect(port).get();
    assert.equal(r.status, 200);
    assert.equal(r.body, 'backend=a');
  });

  it('spreads connections over both workers', async () => {
    const status = await cluster.nodeStatus('node-1', (s) => allServing(s, 2));
    const pids = workersOf(status).map((w) => w.pid);
    const port = await cluster.webPort('node-1');
    const owners: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await connect(port).get();
      assert.equal(r.status, 200);
      owners.push(await ownerOf(port, r, pids));
    }
    assert.deepEqual(new Set(owners), new Set(pids), `owners: ${owners.join(' ')}`);
  });

  it('replaces a worker killed with SIGKILL; requests on the other worker never fail', async () => {
    const status = await cluster.nodeStatus('node-1', (s) => allServing(s, 2));
    const workers = workersOf(status);
    const port = await cluster.webPort('node-1');
    const victim = workers[0]!;
    const pids = workers.map((w) => w.pid);

    // Keep-alive connections on both workers, each driven by its own request loop.
    const loops: { conn: Connection; owner: number; ok: number; failed: string[]; okAfterFail: number }[] =
      [];
    for (let i = 0; i < 12 && (loops.length < 4 || new Set(loops.map((l) => l.owner)).size < 2); i++) {
      const conn = connect(port);
      const owner = await ownerOf(port, await conn.get(), pids);
      loops.push({ conn, owner, ok: 0, failed: [], okAfterFail: 0 });
    }
    assert.equal(new Set(loops.map((l) => l.owner)).size, 2, 'connections on both workers');

    let running = true;
    let recoverUntil = Number.POSITIVE_INFINITY;
    // The victim's loop goes on (bounded) until it is served again after its failure.
    const keepGoing = (loop: (typeof loops)[number]): boolean =>
      running ||
      (loop.owner === victim.pid &&
        loop.failed.length > 0 &&
        loop.okAfterFail === 0 &&
        Date.now() < recoverUntil);
    const driven = loops.map(async (loop) => {
      for (let n = 0; keepGoing(loop) && n < 100_000; n++) {
        try {
          const r = await loop.conn.get('/', 3_000);
          if (r.status !== 200) throw new Error(`status ${r.status}`);
          loop.ok++;
          if (loop.failed.length > 0) loop.okAfterFail++;
        } catch (err) {
          loop.failed.push((err as Error).message);
        }
      }
    });
    await sleep(300);
    process.kill(victim.pid, 'SIGKILL');
    await sleep(1500);
    recoverUntil = Date.now() + 15_000;
    running = false;
    await Promise.all(driven);

    for (const loop of loops) {
      if (loop.owner === victim.pid) {
        // The request on the killed worker's connection at that moment fails; then the client
        // reconnects to a live worker. Known limitation (Node's cluster round robin, see
        // docs/health-and-observability.md): a connection the primary was handing to the worker
        // as it died is never answered, so one request may also time out.
        const [first, ...rest] = loop.failed;
        assert.ok(
          loop.failed.length <= 2 && rest.every((m) => m === 'timed out'),
          `victim loop failures: ${first ?? ''} ${rest.join(', ')}`,
        );
        assert.ok(loop.okAfterFail > 0 || loop.failed.length === 0, 'served again after the kill');
      } else {
        assert.deepEqual(loop.failed, [], 'requests on the surviving worker never fail');
        assert.ok(loop.ok > 10, `the surviving worker kept serving (${loop.ok})`);
      }
    }

    const replaced = await cluster.nodeStatus(
      'node-1',
      (s) => allServing(s, 2) && !(s.workers ?? []).some((w) => w.pid === victim.pid),
    );
    const fresh = workersOf(replaced).find((w) => w.slot === victim.slot);
    assert.ok(fresh, 'the slot has a new worker');
    assert.equal(fresh.appliedVersion, status.appliedVersion);
    assert.equal(fresh.restarts, 1);
    assert.equal(alive(victim.pid), false);

    // The replacement takes connections too.
    const newPids = workersOf(replaced).map((w) => w.pid);
    let servedByFresh = false;
    for (let i = 0; i < 6 && !servedByFresh; i++) {
      const r = await connect(port).get();
      assert.equal(r.status, 200);
      servedByFresh = (await ownerOf(port, r, newPids)) === fresh.pid;
    }
    assert.ok(servedByFresh, 'the replacement worker served a connection');
  });

  it('on SIGTERM lets a request in flight finish, then exits with all its workers, each logging its slot', async () => {
    await cluster.startNode('node-2', { workers: 2 });
    const status = await cluster.nodeStatus('node-2', (s) => allServing(s, 2));
    const port = await cluster.webPort('node-2');
    const node = cluster.nodes.get('node-2')!;
    const arrived = backend.slowArrived();
    const slow = connect(port).get('/slow');
    // In flight for sure: the backend holds it.
    await eventually(() => backend.slowArrived() > arrived, 5000);
    process.kill(node.child.pid, 'SIGTERM');
    const r = await slow;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'backend=a');
    const code = await Promise.race([node.child.exited, sleep(10_000).then(() => 'still running')]);
    assert.equal(code, 0, cluster.logs());
    for (const w of workersOf(status)) assert.equal(alive(w.pid), false, `worker ${w.pid} exited`);
    // Worker lines are pino JSON in the node's output, each with its worker slot and own pid.
    const stopping = node.child
      .output()
      .split('\n')
      .flatMap((line) => {
        try {
          const v = JSON.parse(line) as { msg?: string; worker?: number; pid?: number; node?: string };
          return v.msg === 'worker stopping' ? [v] : [];
        } catch {
          return [];
        }
      });
    assert.deepEqual(
      stopping.map((v) => `${v.node} ${v.worker} ${v.pid}`).sort(),
      workersOf(status)
        .map((w) => `node-2 ${w.slot} ${w.pid}`)
        .sort(),
    );
    await assert.rejects(new Connection(port).get(), /ECONNREFUSED/);
  });

  it('leaves no orphan worker when the node process is killed with SIGKILL', async () => {
    await cluster.startNode('node-3', { workers: 2 });
    const status = await cluster.nodeStatus('node-3', (s) => allServing(s, 2));
    await cluster.stopNode('node-3', 'SIGKILL');
    await eventually(
      () => workersOf(status).every((w) => !alive(w.pid)),
      5000,
      () => `workers still alive: ${JSON.stringify(status.workers)}`,
    );
  });

  it('NACKs a snapshot its workers cannot apply, and every worker keeps the previous version', async () => {
    const previous = await cluster.nodeStatus('node-1', (s) => allServing(s, 2));
    // A host name that never resolves: unlike a port in use (retried), no retry can bind it.
    await cluster.writeStatic(
      `entryPoints:\n  web:\n    address: "127.0.0.1:0"\n  admin:\n    address: "no-such-host.invalid:8080"\nproviders:\n  file:\n    directory: ./dynamic\n`,
    );
    const node = await eventually(
      async () => {
        const list =
          await cluster.api<
            { name: string; appliedVersion: number; lastNack: { version: number; code: string } | null }[]
          >('/api/v1/nodes');
        const n = list.find((x) => x.name === 'node-1');
        return n?.lastNack && n.lastNack.version > previous.appliedVersion ? n : null;
      },
      10_000,
      () => cluster.logs(),
    );
    assert.equal(node.lastNack?.code, 'BERTH_PROXY_LISTEN');
    assert.equal(node.appliedVersion, previous.appliedVersion);
    const status = await cluster.nodeStatus('node-1');
    assert.equal(status.appliedVersion, previous.appliedVersion);
    assert.ok(allServing(status, 2), JSON.stringify(status.workers));
    const pids = workersOf(status).map((w) => w.pid);
    const port = await cluster.webPort('node-1');
    const owners = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const r = await connect(port).get();
      assert.equal(r.body, 'backend=a');
      owners.add(await ownerOf(port, r, pids));
    }
    assert.equal(owners.size, 2, 'both workers still serve');
  });
});
