// Entry point of one worker process: its own data plane, driven by the primary over IPC.

import { applyDelta, logProcessWarnings, type SnapshotBody } from '@berth/protocol';
import { pino } from 'pino';
import type { AppliedChange } from '../agent/agent.js';
import { DataPlane } from '../data-plane.js';
import { nodeStats } from '../observability/node-stats.js';
import { type FromWorker, isToWorker, parseWorkerInit, WORKER_INIT_ENV, WORKER_NO_BASE } from './messages.js';

const init = parseWorkerInit(process.env[WORKER_INIT_ENV]);
if (!init || typeof process.send !== 'function') {
  process.stderr.write('berth worker: started without its primary; run `berth proxy` instead\n');
  process.exit(2);
}

const logger = pino({ level: init.logLevel, base: { pid: process.pid, ...init.bindings } }).child({
  worker: init.slot,
});
logProcessWarnings(logger);
const plane = new DataPlane({
  logger,
  entryPointOverrides: init.entryPointOverrides,
  ...(init.closeDrainMs === undefined ? {} : { closeDrainMs: init.closeDrainMs }),
  ...(init.nodeName === undefined ? {} : { nodeName: init.nodeName }),
  onListenersChange: () => send({ type: 'berth:listeners', listeners: plane.listeners() }),
  nodeMetrics: () => askNodeMetrics(),
  // UDP has no connection the primary could hand over: each client's datagrams must reach the one
  // process holding its session, so the first worker alone serves UDP entry points.
  udp: init.slot === 1,
});

/** `prometheus@internal`'s text: the primary gathers every worker's (this one's too) and merges them. */
const metricsAsked = new Map<number, (text: string | null) => void>();
let metricsSeq = 0;
function askNodeMetrics(): Promise<string> {
  const seq = ++metricsSeq;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => answered(null), 5_000);
    const answered = (text: string | null): void => {
      clearTimeout(timer);
      metricsAsked.delete(seq);
      if (text === null) reject(new Error('the primary did not gather the node metrics'));
      else resolve(text);
    };
    metricsAsked.set(seq, answered);
    if (!process.connected) answered(null);
    else send({ type: 'berth:node-metrics', seq });
  });
}

function send(msg: FromWorker): void {
  // The primary may be gone already; the disconnect handler below ends this process.
  if (process.connected) process.send?.(msg);
}

/** The body the data plane serves, for the next `berth:apply-ops`. */
let live: SnapshotBody | undefined;

let stopping: Promise<void> | null = null;
function stop(reason: string): Promise<void> {
  stopping ??= (async () => {
    logger.info({ reason }, 'worker stopping');
    try {
      await plane.close();
    } catch (err) {
      logger.error({ err }, 'worker did not close cleanly');
    }
    process.exit(0);
  })();
  return stopping;
}

process.on('message', (msg: unknown) => {
  if (!isToWorker(msg)) {
    logger.warn('ignoring an unknown message from the primary');
    return;
  }
  if (msg.type === 'berth:ping') {
    send({ type: 'berth:pong' });
    return;
  }
  if (msg.type === 'berth:stop') {
    void stop('asked by the primary');
    return;
  }
  if (msg.type === 'berth:node-metrics') {
    metricsAsked.get(msg.seq)?.(msg.text);
    return;
  }
  if (msg.type === 'berth:metrics') {
    send({ type: 'berth:metrics', seq: msg.seq, text: plane.metrics.expose() });
    return;
  }
  if (msg.type === 'berth:stats') {
    send({ type: 'berth:stats', seq: msg.seq, stats: nodeStats(plane.metrics, plane.health) });
    return;
  }
  // A delta's ops apply to the body this worker serves; the primary sends them only when that
  // body is the delta's base (it checked the result's hash and signature).
  let body: SnapshotBody;
  let change: AppliedChange | undefined;
  if (msg.type === 'berth:apply-ops') {
    const base = live;
    try {
      if (base === undefined) throw new Error('no applied body');
      body = applyDelta(base, msg.ops);
      change = { base, ops: msg.ops };
    } catch (err) {
      const error = `cannot apply the ops: ${err instanceof Error ? err.message : String(err)}`;
      send({ type: 'berth:applied', seq: msg.seq, result: { ok: false, code: WORKER_NO_BASE, error } });
      return;
    }
  } else body = msg.body;
  plane.apply(body, undefined, change).then(
    (result) => {
      if (result.ok) live = body;
      send({ type: 'berth:applied', seq: msg.seq, result });
    },
    (err: unknown) =>
      send({
        type: 'berth:applied',
        seq: msg.seq,
        result: { ok: false, code: 'BERTH_PROXY_WORKER_APPLY', error: String(err) },
      }),
  );
});

// Without its primary a worker is an orphan nobody can reconfigure or stop: leave at once.
process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group; the primary decides how the node stops, but a
// signal sent to this worker alone still drains it (the primary then replaces it).
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

logger.debug('worker ready');
send({ type: 'berth:ready' });
