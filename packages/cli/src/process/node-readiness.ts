// When a `berth proxy` child really serves: it applied a snapshot and bound every entry point it was given.
import { readFile } from 'node:fs/promises';
import type { ListenerInfo } from '@berth/protocol';
import { CliError } from '../output.js';
import type { Child } from './child-group.js';

/** What `berth proxy --status-file` writes after each apply (the fields read here). */
interface NodeStatusFile {
  pid?: number;
  appliedVersion?: number;
  appliedEpoch?: string;
  listeners?: ListenerInfo[];
}

export interface ReadinessOptions {
  /** Entry points the node must have bound. */
  entryPoints: readonly string[];
  statusFile: string;
  /** Give up after this long without a ready status. */
  timeoutMs?: number;
  /** A listener still `retrying` after this long fails the wait (a port held for good, not in passing). */
  retryingGraceMs?: number;
  /** Where the node's whole log is, for the error message. */
  logFile?: string;
  /**
   * The controller's version when the node started: a node serving an older snapshot from its
   * cache (backends that have moved since) is not ready until it applied this one or a later one.
   */
  current?: { epoch: string; version: number };
}

/** The last `count` lines of a child's output, for an error message. */
export function lastLines(text: string, count = 12): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-count).join('\n');
}

/**
 * A node that refuses its first snapshot because an entry point cannot bind NACKs it and logs
 * why; this finds that line (`code: BERTH_PROXY_LISTEN`), so the reason is printed at once.
 */
export function refusedForListen(output: string): string | null {
  for (const line of output.split('\n')) {
    if (!line.includes('BERTH_PROXY_LISTEN')) continue;
    try {
      const v = JSON.parse(line) as { code?: unknown; err?: unknown; msg?: unknown };
      if (
        v.code === 'BERTH_PROXY_LISTEN' &&
        typeof v.err === 'string' &&
        /refusing snapshot/.test(String(v.msg))
      )
        return v.err;
    } catch {
      // not a JSON line
    }
  }
  return null;
}

/**
 * Resolves once `child` has written a status with a snapshot applied and every entry point in
 * `entryPoints` present and not `retrying`. Rejects with a CliError that names the reason: the
 * child exited, a listener could not bind, or nothing happened before the timeout.
 */
export async function waitForNodeReady(child: Child, opts: ReadinessOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const grace = opts.retryingGraceMs ?? 3000;
  const deadline = Date.now() + timeoutMs;
  const seeLog = opts.logFile ? `\n(whole log: ${opts.logFile})` : '';
  /** Entry point → when it was first seen retrying, in a row. */
  const retryingSince = new Map<string, number>();
  let last: NodeStatusFile | null = null;
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new CliError(
        'BERTH_CLI_NODE_EXITED',
        `${child.name} exited (${child.proc.exitCode ?? child.proc.signalCode}) before it was ready; its last lines:\n${lastLines(child.output())}${seeLog}`,
      );
    }
    const refused = refusedForListen(child.output());
    if (refused !== null)
      throw new CliError('BERTH_CLI_NODE_LISTEN', `${child.name} cannot serve: ${refused}${seeLog}`);
    let status: NodeStatusFile | null = null;
    try {
      status = JSON.parse(await readFile(opts.statusFile, 'utf8')) as NodeStatusFile;
    } catch {
      // not written yet (or being replaced)
    }
    // A status file left by an earlier process of the same node says nothing about this one.
    if (status !== null && status.pid === child.pid) {
      last = status;
      const listeners = status.listeners ?? [];
      const now = Date.now();
      const applied = status.appliedVersion ?? 0;
      let ready =
        opts.current === undefined
          ? applied > 0
          : status.appliedEpoch === opts.current.epoch && applied >= opts.current.version;
      for (const ep of opts.entryPoints) {
        const l = listeners.find((x) => x.entryPoint === ep);
        if (l === undefined) {
          ready = false;
          continue;
        }
        if (l.state !== 'retrying') {
          retryingSince.delete(ep);
          continue;
        }
        ready = false;
        const since = retryingSince.get(ep) ?? now;
        retryingSince.set(ep, since);
        if (now - since >= grace) {
          const why = l.error ? `${l.error.message} [${l.error.code}]` : 'the node keeps retrying';
          throw new CliError(
            'BERTH_CLI_NODE_LISTEN',
            `${child.name} cannot listen on ${l.address} (entry point ${ep}): ${why}${seeLog}`,
          );
        }
      }
      if (ready) return;
    }
    if (Date.now() >= deadline) {
      const state =
        last === null
          ? 'it wrote no status (no snapshot applied)'
          : `its last status: ${JSON.stringify({ appliedVersion: last.appliedVersion, listeners: last.listeners })}`;
      throw new CliError(
        'BERTH_CLI_NODE_NOT_READY',
        `${child.name} was not serving after ${Math.round(timeoutMs / 1000)} s; ${state}; its last lines:\n${lastLines(child.output())}${seeLog}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
