#!/usr/bin/env node
// Runs every compiled test file (unit tests of each package, then end-to-end) in one node:test run.
// Node 20's --test takes no globs, so the files are listed here.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const e2eOnly = args.includes('--e2e');
const filters = args.filter((a) => !a.startsWith('--'));
// `--except=e2e/docker,e2e/swarm`: leaves out the files whose path contains one of these.
const except = args
  .filter((a) => a.startsWith('--except='))
  .flatMap((a) => a.slice('--except='.length).split(','))
  .filter((x) => x !== '');

function collect(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const unit = readdirSync(join(root, 'packages'))
  .sort()
  .flatMap((p) => collect(join(root, 'packages', p, 'dist', 'test')));
const e2e = collect(join(root, 'test', 'dist', 'e2e'));
let files = unitOnly ? unit : e2eOnly ? e2e : [...unit, ...e2e];
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (except.length) files = files.filter((f) => !except.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found: did `tsc -b` run?');
  process.exit(1);
}
console.log(`running ${files.length} test files: ${files.map((f) => relative(root, f)).join(' ')}`);

const concurrency = process.env.BERTH_TEST_CONCURRENCY ?? '2';
const child = spawn(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
