#!/usr/bin/env node
// Where a controller's memory goes at N routes (issue 13): in process, after start and after edits, with a full GC between.
//
// Usage: node --expose-gc test/bench/controller-memory.mjs [--routes 10000] [--edits 10] [--heap-snapshot <dir>]
// Starts a real controller (no nodes) on an N-route file, then makes `--edits` one-route edits,
// each awaited until its version is in the store. After the start and after the edits it prints
// process.memoryUsage() after a full GC (heap used, external, array buffers, RSS), so the V8 heap
// can be told apart from memory outside it; `--heap-snapshot` writes a .heapsnapshot at both points.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { startController } from '@berth/controller/controller';
import { pino } from 'pino';
import { berthRoutesYaml, hostsFor } from './lib/routes.mjs';

const { values: flags } = parseArgs({
  options: {
    routes: { type: 'string', default: '10000' },
    edits: { type: 'string', default: '10' },
    'heap-snapshot': { type: 'string' },
  },
});
const routes = Number(flags.routes);
const edits = Number(flags.edits);
if (!globalThis.gc) console.log('(run with --expose-gc for figures after a full GC)');

const dir = await mkdtemp(join(tmpdir(), 'berth-controller-memory-'));
const file = join(dir, 'routes.yml');
await writeFile(file, berthRoutesYaml(hostsFor(routes), 'http://127.0.0.1:9'));

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
async function report(label) {
  await new Promise((r) => setTimeout(r, 100));
  globalThis.gc?.();
  const m = process.memoryUsage();
  console.log(
    `${label.padEnd(22)} rss ${mib(m.rss)}, heap used ${mib(m.heapUsed)} of ${mib(m.heapTotal)}, external ${mib(m.external)} (array buffers ${mib(m.arrayBuffers)})`,
  );
  if (flags['heap-snapshot'])
    console.log(
      `  ${writeHeapSnapshot(join(flags['heap-snapshot'], `${label.replace(/\W+/g, '-')}.heapsnapshot`))}`,
    );
}

await report('before the controller');
const controller = await startController({
  dataDir: join(dir, 'data'),
  providerFile: file,
  listen: '127.0.0.1:0',
  api: '127.0.0.1:0',
  logger: pino({ level: 'silent' }),
});
await report('after start');
for (let i = 0; i < edits; i++) {
  const before = controller.store.version;
  const hosts = hostsFor(routes);
  hosts[routes - 1] = `edited-${i}.bench.test`;
  const next = join(dir, `.next-${i}.yml`);
  await writeFile(next, berthRoutesYaml(hosts, 'http://127.0.0.1:9'));
  await rename(next, file);
  while (controller.store.version === before) await new Promise((r) => setTimeout(r, 5));
}
await report(`after ${edits} edits`);
await controller.close();
await rm(dir, { recursive: true, force: true });
