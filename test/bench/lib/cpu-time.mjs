// CPU time of a process tree from /proc/<pid>/stat, and per-CPU busy time from /proc/stat.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // 100 is the Linux default
}
export const CLK_TCK = ticksPerSecond;

/** Fields after the command name, which may itself contain spaces and parentheses. */
function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** `rootPid` and every live descendant, found through the ppid field of /proc/<pid>/stat. */
export function processTree(rootPid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (!f) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid);
    if (list) list.push(Number(name));
    else children.set(ppid, [Number(name)]);
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length > 0 && out.length < 10_000) {
    const pid = stack.pop();
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/**
 * Seconds of CPU (utime+stime, plus cutime+cstime of reaped children) of the tree under
 * `rootPid`. All threads are included: /proc/<pid>/stat sums them.
 */
export function treeCpuSeconds(rootPid) {
  let ticks = 0;
  for (const pid of processTree(rootPid)) {
    const f = statFields(pid);
    if (!f) continue;
    // Fields 14..17 of proc(5), counted from the state field (3) here.
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks / CLK_TCK;
}

/** Busy and total seconds of each CPU since boot, from the cpuN lines of /proc/stat. */
export function perCpuTimes() {
  const out = new Map();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest is already inside user)
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out.set(Number(m[1]), { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK });
  }
  return out;
}

/** Fraction of `cpu` that was busy between two perCpuTimes() readings. */
export function busyFraction(before, after, cpu) {
  const a = before.get(cpu);
  const b = after.get(cpu);
  if (!a || !b || b.total === a.total) return Number.NaN;
  return (b.busy - a.busy) / (b.total - a.total);
}

export function loadAverage() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}
