#!/usr/bin/env node
// Issue 13: bytes on the wire and node-side cost of a one-route change at N routes, full snapshot vs delta.
// Usage: node test/bench/deltas.mjs [routes=10000]  (after `npx tsc -b`). A real controller compiles
// the N-route file and the same file plus one route; its stored snapshots are measured.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  applyDelta,
  certifySigningKey,
  createSnapshotSigner,
  decodeFrame,
  deltaBetween,
  diffSnapshot,
  encodeDelta,
  encodeSnapshot,
  snapshotFromDelta,
  verifySnapshot,
  verifySnapshotSignature,
} from '@berth/protocol';
import { buildRuntime } from '@berth/proxy';
import { Cluster } from '../dist/helpers/cluster.js';
import { compiledOneRouteChange } from './lib/compiled-change.mjs';

const count = Number(process.argv[2] ?? 10_000);
const runs = 7;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (fn) => {
  const t = process.hrtime.bigint();
  const out = fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, out };
};
const timeMedian = (fn) => median(Array.from({ length: runs }, () => time(fn).ms));

const cluster = await Cluster.create();
try {
  // Snapshots from a real controller: the same compile as in production.
  const [baseRaw, nextRaw] = await compiledOneRouteChange(cluster, count);

  // A signing key certified by a throwaway CA, as the controller's: signatures are on the wire.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(cluster.dir, 'ca.key'),
      '-out',
      join(cluster.dir, 'ca.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=bench',
    ],
    { stdio: 'pipe' },
  );
  const caPem = await readFile(join(cluster.dir, 'ca.pem'), 'utf8');
  const signingKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
  const signer = createSnapshotSigner(
    signingKey,
    certifySigningKey(signingKey, await readFile(join(cluster.dir, 'ca.key'), 'utf8')),
  );
  const base = signer.sign(baseRaw);
  const next = signer.sign(nextRaw);

  // Controller: what publish does (diff + structural sharing), and encoding each frame once.
  const diffMs = timeMedian(() => diffSnapshot(base.body, next.body));
  const ops = diffSnapshot(base.body, next.body);
  const shareMs = timeMedian(() => applyDelta(base.body, ops));
  const fullEnc = time(() => encodeSnapshot(next));
  const deltaEnc = time(() => encodeDelta(deltaBetween(base, next, ops)));
  const fullFrame = fullEnc.out;
  const deltaFrame = deltaEnc.out;

  // Node: from the frame to a verified snapshot, then the runtime build (the same for both today).
  const nodeFull = timeMedian(() => {
    const d = decodeFrame(fullFrame, true);
    const s = d.message.snapshot;
    if (!verifySnapshot(s) || !verifySnapshotSignature(s, caPem).ok)
      throw new Error('full snapshot does not verify');
  });
  const nodeDelta = timeMedian(() => {
    const d = decodeFrame(deltaFrame, true);
    const s = snapshotFromDelta(base, d.message);
    if (!verifySnapshot(s) || !verifySnapshotSignature(s, caPem).ok)
      throw new Error('delta result does not verify');
  });
  const hashOnly = timeMedian(() => verifySnapshot(next));
  // As the agent does: the base verified with its canonical cache, then each delta result with it.
  const cache = new WeakMap();
  verifySnapshot(base, cache);
  const nodeDeltaCached = timeMedian(() => {
    const d = decodeFrame(deltaFrame, true);
    const s = snapshotFromDelta(base, d.message);
    if (!verifySnapshot(s, cache) || !verifySnapshotSignature(s, caPem).ok)
      throw new Error('delta result does not verify');
  });
  const hashCached = timeMedian(() =>
    verifySnapshot(snapshotFromDelta(base, decodeFrame(deltaFrame, true).message), cache),
  );
  const build = timeMedian(() => buildRuntime(next.body));

  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `routes: ${count} → ${count + 1}; ops: ${ops.length} (${ops.map((o) => `${o.op} ${o.path.join('.')}`).join(', ')})`,
  );
  console.log(
    `full snapshot: JSON ${kib(JSON.stringify(next).length)}, frame (gzip) ${kib(fullFrame.length)}, encode ${fullEnc.ms.toFixed(1)} ms`,
  );
  console.log(
    `delta:         JSON ${JSON.stringify(deltaBetween(base, next, ops)).length} B, frame (gzip) ${deltaFrame.length} B, encode ${deltaEnc.ms.toFixed(2)} ms`,
  );
  console.log(
    `controller per publish: diff ${diffMs.toFixed(1)} ms, structural sharing ${shareMs.toFixed(1)} ms`,
  );
  console.log(
    `node, frame → verified snapshot (median of ${runs}): full ${nodeFull.toFixed(1)} ms, delta ${nodeDelta.toFixed(1)} ms (of which the full-body hash ${hashOnly.toFixed(1)} ms)`,
  );
  console.log(
    `node, delta → verified snapshot with the agent's canonical cache: ${nodeDeltaCached.toFixed(1)} ms (of which decode + apply ops + hash ${hashCached.toFixed(1)} ms)`,
  );
  console.log(`node, runtime build from the body, no previous build: ${build.toFixed(1)} ms`);
} finally {
  await cluster.close();
}
