#!/usr/bin/env node
// Times each stage of the controller's pipeline on an N-route file, in process: read, YAML parse, validation, compile, hash, sign, store, publish.
//
// Usage: node test/bench/compile-stages.mjs [--routes 10000] [--runs 5] [--controller | --controller-only]
// Stages run on the built packages (`npx tsc -b` first). `--controller` also starts a real
// controller (in this process, no nodes) on the file and times cold start and a one-route edit
// from the file renamed into place to the new version in the store. Run under
// `node --cpu-prof` to see where a stage spends its time.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validateDynamic } from '@berth/config';
import { compile, SnapshotStore, startController } from '@berth/controller';
import { canonicalJson, createSnapshotSigner, encodeSnapshot, hashBody } from '@berth/protocol';
import { parseDocument } from 'yaml';
import { FileProvider, sameData } from '../../packages/controller/dist/src/provider/file-provider.js';
import { resolveFileReferences } from '../../packages/controller/dist/src/provider/file-references.js';
import { parseConfigFile } from '../../packages/controller/dist/src/provider/yaml-config-file.js';
import { IncrementalYamlFile } from '../../packages/controller/dist/src/provider/yaml-incremental.js';
import { berthRoutesYaml, hostsFor } from './lib/routes.mjs';
import { median } from './lib/stats.mjs';

const { values: flags } = parseArgs({
  options: {
    routes: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '5' },
    controller: { type: 'boolean', default: false },
    'controller-only': { type: 'boolean', default: false },
  },
});
const routes = Number(flags.routes);
const runs = Number(flags.runs);
const statics = { entryPoints: { web: { address: ':80' } } };

/** Wall and CPU (user+system) milliseconds of `fn`, awaited. */
async function timed(fn) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { value, wall, cpu: (cpu.user + cpu.system) / 1000 };
}

const dir = await mkdtemp(join(tmpdir(), 'berth-compile-stages-'));
const file = join(dir, 'routes.yml');
const yamlText = berthRoutesYaml(hostsFor(routes), 'http://127.0.0.1:9');
await writeFile(file, yamlText);

const stages = new Map();
const record = (name, t) => {
  const list = stages.get(name) ?? { wall: [], cpu: [] };
  list.wall.push(t.wall);
  list.cpu.push(t.cpu);
  stages.set(name, list);
};

const { privateKey } = await import('node:crypto').then((c) => c.generateKeyPairSync('ed25519'));
const signer = createSnapshotSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }), 'test');

for (let run = 0; run < (flags['controller-only'] ? 0 : runs); run++) {
  const read = await timed(() => readFile(file, 'utf8'));
  record('file read', read);
  const yaml = await timed(() => parseDocument(read.value, { uniqueKeys: false }).toJS());
  record('  YAML parse + toJS alone', yaml);
  const validate = await timed(() => validateDynamic(yaml.value, {}));
  record('  validateDynamic alone', validate);
  const parsed = await timed(() => parseConfigFile(read.value, file));
  record('parseConfigFile (parse+validate+lines)', parsed);

  // The file provider from a cold start: scan, read, parse, compare with what it emitted.
  const provider = new FileProvider({ path: file });
  record('FileProvider.start (all of the above)', await timed(() => provider.start()));
  const parts = provider.current();
  await provider.close();
  record('  canonicalJson(parts) (old provider change check)', await timed(() => canonicalJson(parts)));
  record(
    '  JSON.stringify(parts) (provider change check until incr.)',
    await timed(() => JSON.stringify(parts)),
  );

  const resolved = await timed(() => resolveFileReferences(parts));
  record('resolveFileReferences', resolved);
  const compiled = await timed(() => compile(resolved.value, statics));
  record('compile', compiled);
  record('hashBody (canonical JSON + sha256)', await timed(() => hashBody(compiled.value.body)));

  const storeDir = join(dir, `store-${run}`);
  const store = await SnapshotStore.open(storeDir);
  const stored = await timed(() => store.publish(compiled.value.body));
  record('store.publish, first version (hash, copy/freeze, write)', stored);
  const signed = await timed(() => signer.sign(stored.value.snapshot));
  record('sign', signed);
  record('encodeSnapshot (distributor: JSON + gzip)', await timed(() => encodeSnapshot(signed.value)));

  // A one-route edit through the same stages, each fed what the previous one produced (as the
  // controller does): the incremental parser primed with the file, the store holding version 1.
  const parser = new IncrementalYamlFile(file);
  record(
    'edit: IncrementalYamlFile.parse, cold (first reading)',
    await timed(() => parser.parse(read.value)),
  );
  let previousCompile = compile(await resolveFileReferences([partOf(parser.parse(read.value))]), statics);
  await store.publish(previousCompile.body);
  const hosts = hostsFor(routes);
  hosts[Math.floor(routes / 2)] = `edited-${run}.bench.test`;
  const editedText = berthRoutesYaml(hosts, 'http://127.0.0.1:9');
  const primed = partOf(parser.parse(read.value));
  const reparsed = await timed(() => parser.parse(editedText));
  record('edit: IncrementalYamlFile.parse (one route changed)', reparsed);
  const editPart = partOf(reparsed.value);
  record('edit: provider change check (sameData)', await timed(() => sameData(primed, editPart)));
  const editParts = await resolveFileReferences([editPart]);
  const recompiled = await timed(() => compile(editParts, statics));
  record('edit: compile', recompiled);
  previousCompile = recompiled.value;
  const republished = await timed(() => store.publish(previousCompile.body));
  record('edit: store.publish, next version', republished);
  record('edit: sign', await timed(() => signer.sign(republished.value.snapshot)));
  await rm(storeDir, { recursive: true, force: true });
}

if (!flags['controller-only']) printStages();

function partOf(parsed) {
  if (parsed.kind !== 'ok') throw new Error(`bench file did not parse: ${parsed.kind}`);
  return {
    sourceKey: file,
    provider: 'file',
    config: parsed.config,
    errors: parsed.errors,
    sources: parsed.sources,
  };
}
function printStages() {
  const rows = [...stages].map(([name, t]) => [name, median(t.wall).toFixed(1), median(t.cpu).toFixed(1)]);
  console.log(`${routes} routes, YAML ${(yamlText.length / 1024).toFixed(0)} KiB, median of ${runs} runs`);
  console.log(`${'stage'.padEnd(50)} ${'wall ms'.padStart(9)} ${'CPU ms'.padStart(9)}`);
  for (const [name, wall, cpu] of rows)
    console.log(`${name.padEnd(50)} ${wall.padStart(9)} ${cpu.padStart(9)}`);
  console.log(`RSS after stages: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
}

if (flags.controller || flags['controller-only']) {
  const { pino } = await import('pino');
  const logger = pino({ level: 'silent' });
  const dataDir = join(dir, 'controller');
  const rss0 = process.memoryUsage().rss;
  const started = await timed(() =>
    startController({ dataDir, providerFile: file, listen: '127.0.0.1:0', api: '127.0.0.1:0', logger }),
  );
  const controller = started.value;
  console.log(
    `controller cold start: ${started.wall.toFixed(0)} ms wall, ${started.cpu.toFixed(0)} ms CPU, version ${controller.store.version}`,
  );
  const edits = [];
  for (let i = 0; i < runs; i++) {
    const before = controller.store.version;
    const hosts = hostsFor(routes);
    hosts[routes - 1] = `edited-${i}.bench.test`;
    const next = join(dir, `.next-${i}.yml`);
    await writeFile(next, berthRoutesYaml(hosts, 'http://127.0.0.1:9'));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await rename(next, file);
    while (controller.store.version === before) await new Promise((r) => setTimeout(r, 1));
    const cpu = process.cpuUsage(cpu0);
    edits.push({ wall: performance.now() - t0, cpu: (cpu.user + cpu.system) / 1000 });
  }
  console.log(
    `one-route edit → published: ${median(edits.map((e) => e.wall)).toFixed(0)} ms wall, ${median(edits.map((e) => e.cpu)).toFixed(0)} ms CPU (median of ${runs}; includes the file provider's debounce)`,
  );
  console.log(
    `RSS: ${(rss0 / 2 ** 20).toFixed(0)} MiB before the controller, ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB after the edits`,
  );
  console.log(`controller PSS after the edits: ${pssMiB()} MiB (RSS shares pages with other processes)`);
  globalThis.gc?.();
  const mem = process.memoryUsage();
  console.log(
    `after a full GC${globalThis.gc ? '' : ' (run with --expose-gc)'}: heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB of ${(mem.heapTotal / 2 ** 20).toFixed(0)}, RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB, PSS ${pssMiB()} MiB`,
  );
  await controller.close();
  // A restart: the store reads its history back, the file is read and compiled again.
  const restarted = await timed(() =>
    startController({ dataDir, providerFile: file, listen: '127.0.0.1:0', api: '127.0.0.1:0', logger }),
  );
  console.log(
    `controller restart (history of ${runs + 1} versions on disk): ${restarted.wall.toFixed(0)} ms wall, ${restarted.cpu.toFixed(0)} ms CPU`,
  );
  await restarted.value.close();
}

function pssMiB() {
  try {
    const text = readFileSync('/proc/self/smaps_rollup', 'utf8');
    const kb = Number(/^Pss:\s+(\d+)/m.exec(text)?.[1]);
    return (kb / 1024).toFixed(0);
  } catch {
    return '?';
  }
}
await rm(dir, { recursive: true, force: true });
