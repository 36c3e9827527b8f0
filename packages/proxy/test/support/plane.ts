// A data plane on loopback for tests, torn down with everything else the test registered.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SnapshotBody } from '@berth/protocol';
import { pino } from 'pino';
import type { DataPlaneOptions } from '../../src/data-plane.js';
import { DataPlane } from '../../src/data-plane.js';
import type { Backend, Handler } from './backend.js';
import { startBackend } from './backend.js';

export const silent = pino({ level: 'silent' });

/** Cleanups run in an `after` hook of the test file. */
export class Cleanups {
  readonly #list: (() => Promise<void>)[] = [];
  add(cleanup: () => Promise<void>): void {
    this.#list.push(cleanup);
  }
  async run(): Promise<void> {
    await Promise.all(this.#list.splice(0).map((c) => c().catch(() => {})));
  }
}

export async function backendFor(cleanups: Cleanups, name: string, handler?: Handler): Promise<Backend> {
  const b = await startBackend(name, handler);
  cleanups.add(() => b.close());
  return b;
}

/** Options of a test data plane; `undefined` removes a test default (`closeDrainMs` lets graceTimeOut decide). */
export type PlaneOptions = { [K in keyof DataPlaneOptions]?: DataPlaneOptions[K] | undefined };

export function planeFor(cleanups: Cleanups, opts: PlaneOptions = {}): DataPlane {
  const options: DataPlaneOptions = {
    logger: silent,
    entryPointOverrides: { web: '127.0.0.1:0' },
    closeDrainMs: 100,
    retireDrainMs: 1_000,
  };
  for (const [key, value] of Object.entries(opts)) {
    if (value === undefined) delete options[key as keyof DataPlaneOptions];
    else Object.assign(options, { [key]: value });
  }
  const p = new DataPlane(options);
  cleanups.add(() => p.close());
  return p;
}

export function portOf(p: DataPlane, entryPoint = 'web'): number {
  const address = p.listeners().find((l) => l.entryPoint === entryPoint)?.address;
  assert.ok(address, `no listener for ${entryPoint}`);
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

export async function applied(p: DataPlane, b: SnapshotBody): Promise<number> {
  const result = await p.apply(b);
  if (!result.ok) assert.fail(`${result.code}: ${result.error}`);
  return portOf(p);
}

/** Polls `condition` every 5 ms, at most `ms` in all. */
export async function until(condition: () => boolean, what: string, ms = 2_000): Promise<void> {
  for (let i = 0; i < ms / 5; i++) {
    if (condition()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}
