#!/usr/bin/env node
// Issue 13: a one-route delta at N routes through a real Agent and DataPlane, from the frame sent by a
// stand-in controller (TLS WebSocket on loopback) to its ACK received: decode, applyDelta, hash and
// signature checks, the rebuild and swap, the ACK. Then `--changes` deltas in a row (a route added,
// removed, added...), with the node's heap and RSS after a full GC at the start and the end.
// Usage: node --expose-gc test/bench/node-delta-path.mjs [routes=10000] [--changes 100] [--workers N]
// (--workers N: the agent drives a pool of N worker processes, as `berth proxy` does by default,
// instead of one DataPlane in process; heap and RSS are then the primary's only.)
// (after `npx tsc -b`; needs openssl for the stand-in's certificates, as the agent tests do).
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  certificateFingerprint,
  certifySigningKey,
  createSnapshotSigner,
  decodeFrame,
  deltaBetween,
  diffSnapshot,
  encodeDelta,
  encodeSnapshot,
} from '@berth/protocol';
import { Agent, DataPlane, WorkerPool } from '@berth/proxy';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import {
  closeStandIn,
  controllerTlsOptions,
  listenOnLoopback,
  makeNodeIdentity,
  makePki,
} from '../../packages/proxy/dist/test/support/pki.js';
import { Cluster } from '../dist/helpers/cluster.js';
import { compiledOneRouteChange } from './lib/compiled-change.mjs';

const args = process.argv.slice(2);
const count = Number(args.find((a, i) => /^\d+$/.test(a) && !/^--/.test(args[i - 1] ?? '')) ?? 10_000);
const changesAt = args.indexOf('--changes');
const changes = changesAt >= 0 ? Number(args[changesAt + 1]) : 100;
const workersAt = args.indexOf('--workers');
const workers = workersAt >= 0 ? Number(args[workersAt + 1]) : 0;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;

const cluster = await Cluster.create();
let base;
let next;
try {
  [base, next] = await compiledOneRouteChange(cluster, count);
} finally {
  await cluster.close();
}
const forward = diffSnapshot(base.body, next.body);
const back = diffSnapshot(next.body, base.body);

const dir = await mkdtemp(join(tmpdir(), 'berth-bench-delta-'));
const agentDir = await mkdtemp(join(tmpdir(), 'berth-bench-node-'));
const pki = await makePki(dir);
const signingKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
const signer = createSnapshotSigner(
  signingKey,
  certifySigningKey(signingKey, await readFile(join(dir, 'ca.key'), 'utf8')),
);
await makeNodeIdentity(dir, agentDir, '5f0c2d1e-8a7f-4c3e-9a55-3f1d2e4b6a71');

const server = createServer(controllerTlsOptions(pki));
const wss = new WebSocketServer({ server, path: '/v1/connect' });
let peer = null;
let onAck = () => {};
wss.on('connection', (ws) => {
  peer = ws;
  ws.on('message', (data, isBinary) => {
    const d = decodeFrame(data, isBinary);
    if (d.ok && d.message.type === 'ack') onAck(d.message.version);
  });
});
const port = await listenOnLoopback(server);

// The agent's own figures (verifyMs, applyMs) from its 'applied snapshot' lines.
const applied = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line.includes('"applied snapshot"')) applied.push(JSON.parse(line));
      }
      done();
    },
  }),
);
const overrides = Object.fromEntries(Object.keys(base.body.entryPoints).map((n) => [n, '127.0.0.1:0']));
const plane =
  workers > 0
    ? new WorkerPool({ workers, logger: pino({ enabled: false }), entryPointOverrides: overrides })
    : new DataPlane({ logger: pino({ enabled: false }), entryPointOverrides: overrides });
if (workers > 0) await plane.start();
const agent = new Agent({
  token: {
    url: `wss://127.0.0.1:${port}`,
    caFingerprint: certificateFingerprint(pki.caPem),
    secret: 'V'.repeat(43),
  },
  name: 'bench-node',
  dataDir: agentDir,
  applier: plane,
  logger,
  heartbeatMs: 60_000,
});

/** Sends `frame` and resolves with the ms until the ACK of `version` arrives. */
const sendAndWait = (frame, version) =>
  new Promise((resolve) => {
    const started = process.hrtime.bigint();
    onAck = (v) => {
      if (v === version) resolve(Number(process.hrtime.bigint() - started) / 1e6);
    };
    peer.send(frame, { binary: true });
  });

const heap = () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
};

try {
  await agent.start();
  while (peer === null) await new Promise((r) => setTimeout(r, 20));
  const signed = (version, body, hash) =>
    signer.sign({ epoch: base.epoch, version, hash, createdAt: new Date().toISOString(), body });
  let current = signed(1, base.body, base.hash);
  const fullMs = await sendAndWait(encodeSnapshot(current), 1);
  const times = [];
  let start;
  for (let i = 0; i < changes; i++) {
    if (i === 1) start = heap();
    const odd = i % 2 === 0;
    const version = current.version + 1;
    const target = signed(version, odd ? next.body : base.body, odd ? next.hash : base.hash);
    // Encoded before the clock starts: the controller encodes once for every node.
    const frame = encodeDelta(deltaBetween(current, target, odd ? forward : back));
    times.push(await sendAndWait(frame, version));
    current = target;
  }
  await agent.stop();
  const end = heap();
  const deltas = applied.filter((l) => l.kind === 'delta');
  console.log(
    `routes: ${count}; workers: ${workers}; ops per delta: ${forward.length}; load: ${(await readFile('/proc/loadavg', 'utf8')).trim()}`,
  );
  console.log(`full snapshot, frame sent → ACK: ${fullMs.toFixed(1)} ms`);
  console.log(
    `delta, frame sent → ACK (median of ${times.length}): ${median(times).toFixed(1)} ms; of which the agent's verify (applyDelta, hash, signature) ${median(deltas.map((l) => l.verifyMs)).toFixed(1)} ms, apply ${median(deltas.map((l) => l.applyMs)).toFixed(1)} ms`,
  );
  if (globalThis.gc)
    console.log(
      `after a full GC, from the 2nd delta to the ${changes}th: heap ${mb(start.heap)} → ${mb(end.heap)}, RSS ${mb(start.rss)} → ${mb(end.rss)}`,
    );
  else console.log('(run with node --expose-gc for the heap and RSS after a full GC)');
} finally {
  await agent.stop();
  await plane.close();
  await closeStandIn(server, wss, dir);
  await rm(agentDir, { recursive: true, force: true });
}
