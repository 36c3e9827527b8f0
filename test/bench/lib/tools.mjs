// Finds the external programs the benchmark needs and describes the machine for the report.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';

const REQUIRED = [
  { bin: 'haproxy', pkg: 'haproxy' },
  { bin: 'nginx', pkg: 'nginx' },
  { bin: 'wrk', pkg: 'wrk' },
  { bin: 'taskset', pkg: 'util-linux' },
];

function which(bin) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (dir && existsSync(`${dir}/${bin}`)) return `${dir}/${bin}`;
  }
  return null;
}

function versionOf(bin, args, re) {
  // nginx -v and wrk --version print to stderr, and wrk exits 1 doing it.
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 5000 });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  return re.exec(text)?.[1] ?? (text.split('\n')[0] || 'unknown');
}

/** Absolute paths of the tools, or a list of what is missing with the packages to install. */
export function findTools() {
  const paths = {};
  const missing = [];
  for (const { bin, pkg } of REQUIRED) {
    const p = which(bin);
    if (p) paths[bin] = p;
    else missing.push({ bin, pkg });
  }
  return { paths, missing };
}

export function toolVersions(paths) {
  return {
    node: process.version,
    haproxy: versionOf(paths.haproxy, ['-v'], /HAProxy version (\S+)/),
    nginx: versionOf(paths.nginx, ['-v'], /nginx version: nginx\/(\S+)/),
    wrk: versionOf(paths.wrk, ['--version'], /wrk (\S+)/),
  };
}

export function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // keep os.cpus()'s answer
  }
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // keep os.cpus()'s answer
  }
  return { nproc, model, kernel: release() };
}
