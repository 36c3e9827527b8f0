// A worker process of `bench:control-plane`: many real node agents (@berth/proxy's Agent) in one process, each from its own loopback address.
//
// Every simulated node runs the real Agent: enrollment with the join token, its own certificate,
// mTLS WebSocket, hello, snapshot decode, hash and signature checks, snapshot cache, ack. Only the
// data plane is a stand-in: the applier builds the real runtime once per snapshot hash in this
// process (from a delta's ops when it can, as a node does) and every agent here awaits that one
// build, as N machines would build in parallel.
//
// Three hooks, all in this process only:
// - tls.connect gets the node's own `localAddress` (127.x.y.z) from an AsyncLocalStorage context,
//   so the controller's per-source limits see one source per node, and a byte counter on the socket;
// - WebSocket#send: the time of each hello / ack / nack a node sends;
// - WebSocket#emit('message'): the time each frame from the controller reached the agent.
// Events go to the parent over IPC: { type: 'event', kind, node, t, version, epoch, bytesIn }.
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir } from 'node:fs/promises';
import tls from 'node:tls';
import { parseToken } from '@berth/protocol';
import { Agent, buildRuntime, rebuildRuntime } from '@berth/proxy';
import { pino } from 'pino';
import WebSocket from 'ws';

const als = new AsyncLocalStorage();
// Wall-clock ms, the one clock the harness, its workers and the controller's log lines share:
// performance.timeOrigin is fixed at each process's start and drifts apart across processes here.
const now = () => Date.now();

/** One simulated node: its address, counters and live socket. */
class SimNode {
  constructor(index, address) {
    this.index = index;
    this.address = address;
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.socket = null;
    /** The socket that stopped reading, or null. */
    this.stalled = null;
    this.agent = null;
  }
}

const realConnect = tls.connect;
tls.connect = function connectFromNodeAddress(...args) {
  const node = als.getStore();
  const opts = args.find((a) => a !== null && typeof a === 'object');
  if (node && opts) opts.localAddress = node.address;
  const socket = realConnect.apply(this, args);
  if (node) {
    node.socket = socket;
    socket.on('data', (chunk) => {
      node.bytesIn += chunk.length;
    });
    const write = socket.write;
    socket.write = function countedWrite(chunk, ...rest) {
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) node.bytesOut += Buffer.byteLength(chunk);
      return write.call(this, chunk, ...rest);
    };
    const resume = socket.resume;
    // A stalled connection stays stalled even when ws asks its socket to resume; a new one (the
    // node reconnecting after the controller dropped the stalled one) reads as usual.
    socket.resume = function maybeResume() {
      return node.stalled === this ? this : resume.call(this);
    };
  }
  return socket;
};

const report = (kind, node, extra = {}) =>
  process.send?.({ type: 'event', kind, node: node.index, t: now(), bytesIn: node.bytesIn, ...extra });

const realSend = WebSocket.prototype.send;
WebSocket.prototype.send = function timedSend(data, ...rest) {
  const node = als.getStore();
  if (node && typeof data === 'string') {
    const kind = /^\{"type":"(hello|ack|nack)"/.exec(data)?.[1];
    if (kind) {
      const m = JSON.parse(data);
      report(kind, node, {
        version: kind === 'hello' ? m.appliedVersion : m.version,
        epoch: kind === 'hello' ? m.appliedEpoch : m.epoch,
        ...(kind === 'nack' ? { code: m.code, error: m.error } : {}),
      });
    }
  }
  return realSend.call(this, data, ...rest);
};
const realEmit = WebSocket.prototype.emit;
WebSocket.prototype.emit = function timedEmit(event, ...args) {
  if (event === 'message') {
    const node = als.getStore();
    if (node) report('frame', node, { frameBytes: args[0]?.length ?? 0 });
  }
  return realEmit.call(this, event, ...args);
};

/**
 * The data-plane stand-in: the real runtime, built once per snapshot hash for all agents here, the
 * way a node builds it: from a delta's ops on the previous build (rebuildRuntime) when the delta's
 * base is the version built last, in full otherwise (reusing what it can, as buildRuntime does).
 */
let built = { hash: null, version: null, memo: undefined, promise: null };
/** The version each body an agent applied is, to tell which version a delta's base is. */
const versionOfBody = new WeakMap();
const buildTimes = [];
const applier = {
  apply(body, version, change) {
    const hash = version?.hash ?? null;
    if (version) versionOfBody.set(body, version.version);
    if (hash === null || built.hash !== hash) {
      const started = performance.now();
      const fromBuilt =
        change !== undefined && built.memo !== undefined && versionOfBody.get(change.base) === built.version;
      let result = fromBuilt ? rebuildRuntime(body, change.ops, built.memo) : undefined;
      let kind = 'delta';
      if (result?.ok) result.commit();
      else {
        result = buildRuntime(body, {}, built.memo);
        kind = 'full';
      }
      const ms = performance.now() - started;
      buildTimes.push({ hash, ms, kind, routers: Object.keys(body.http?.routers ?? {}).length });
      built = {
        hash,
        version: version?.version ?? null,
        memo: result.ok ? result.memo : built.memo,
        promise: Promise.resolve(
          result.ok ? { ok: true, listeners: [] } : { ok: false, code: result.code, error: result.error },
        ),
      };
    }
    return built.promise;
  },
  listeners: () => [],
};

const nodes = [];
const logger = pino({ level: process.env.BENCH_AGENT_LOG_LEVEL ?? 'warn' });

async function start({ token, first, count, dir, addressOf, startEveryMs = 0 }) {
  const joinToken = parseToken(token);
  for (let i = first; i < first + count; i++) {
    if (startEveryMs > 0 && i > first) await new Promise((r) => setTimeout(r, startEveryMs));
    const node = new SimNode(i, addressOf[i - first]);
    nodes.push(node);
    const dataDir = `${dir}/node-${i}`;
    await mkdir(dataDir, { recursive: true });
    node.agent = new Agent({
      token: joinToken,
      name: `sim-${i}`,
      dataDir,
      applier,
      logger: logger.child({ node: i }),
      ...(process.env.BENCH_HEARTBEAT_MS ? { heartbeatMs: Number(process.env.BENCH_HEARTBEAT_MS) } : {}),
    });
    // Everything the agent does from here (timers, sockets, callbacks) runs in this node's context.
    als.run(node, () => void node.agent.start());
  }
}

function stall(index, on) {
  const node = nodes.find((n) => n.index === index);
  if (!node?.socket) return false;
  if (on) {
    node.stalled = node.socket;
    node.socket.pause();
  } else {
    const socket = node.stalled;
    node.stalled = null;
    // In the node's context: the frame waiting in the stream's buffer is emitted from this call's
    // tick, and its ack must be seen as this node's.
    als.run(node, () => socket?.resume());
  }
  return true;
}

process.on('message', async (msg) => {
  if (msg.cmd === 'start') {
    await start(msg);
    process.send?.({ type: 'started' });
  } else if (msg.cmd === 'stall') {
    process.send?.({ type: 'stalled', ok: stall(msg.node, msg.on) });
  } else if (msg.cmd === 'counters') {
    process.send?.({
      type: 'counters',
      nodes: nodes.map((n) => ({ node: n.index, bytesIn: n.bytesIn, bytesOut: n.bytesOut })),
      buildTimes: buildTimes.splice(0),
      rssBytes: process.memoryUsage().rss,
      cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    });
  } else if (msg.cmd === 'stop') {
    await Promise.all(nodes.map((n) => n.agent?.stop()));
    process.send?.({ type: 'stopped' });
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
