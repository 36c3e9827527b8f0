// A one-route change as the controller compiles it: the stored snapshots of an N-route file and of the
// same file plus one route, from a real controller in `cluster` (test/dist/helpers/cluster.js).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../dist/helpers/cluster.js';
import { berthRoutesYaml, hostsFor } from './routes.mjs';

/** `[base, next]`: the two stored snapshots (envelope and body, unsigned), oldest first. */
export async function compiledOneRouteChange(cluster, count) {
  await cluster.writeDynamic('routes.yml', berthRoutesYaml(hostsFor(count), 'http://127.0.0.1:9'));
  await cluster.startController();
  const store = join(cluster.dir, 'controller', 'snapshots');
  const stored = async () =>
    (await readdir(store))
      .filter((f) => /^\d+\.json$/.test(f))
      .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
  const first = await eventually(async () => (await stored()).length >= 1 && (await stored()), 60_000);
  await cluster.writeDynamic('routes.yml', berthRoutesYaml(hostsFor(count + 1), 'http://127.0.0.1:9'));
  const both = await eventually(
    async () => (await stored()).length > first.length && (await stored()),
    60_000,
  );
  return Promise.all(both.slice(-2).map(async (f) => JSON.parse(await readFile(join(store, f), 'utf8'))));
}
