// The three-tier host index: same answer as a linear scan, and a cost independent of other hosts' routes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestView, RuleMatcher } from '@berth/config';
import type { HostedEntry } from '../src/runtime/router-table.js';
import { RouterTable } from '../src/runtime/router-table.js';
import { prng } from './support/prng.js';

function view(host: string, path = '/'): RequestView {
  return { host, path, method: 'GET', headers: {}, query: '', clientIp: '127.0.0.1' };
}

/** Strips a trailing dot, as the real Host matchers do. */
function bare(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/**
 * A hand-made compiled rule, as h-config's compiler would produce: the matcher and the index
 * hints must agree (every match is bound to the hosts or suffixes given).
 */
function entry(
  name: string,
  priority: number,
  bound: { hosts?: string[]; suffixes?: string[]; path?: string },
  counter?: { calls: number },
): HostedEntry {
  const { hosts, suffixes, path } = bound;
  const match: RuleMatcher = (req) => {
    if (counter) counter.calls++;
    const host = bare(req.host);
    if (path !== undefined && !req.path.startsWith(path)) return false;
    if (hosts) {
      return hosts.some((h) => (h.startsWith('*.') ? host.endsWith(h.slice(1)) : host === bare(h)));
    }
    if (suffixes) return suffixes.some((s) => host.endsWith(s));
    return true;
  };
  return {
    entry: { name, service: 's', priority, match },
    hosts: hosts ?? null,
    hostSuffixes: hosts ? null : (suffixes ?? null),
  };
}

function sorted(list: HostedEntry[]): HostedEntry[] {
  return list.sort((a, b) =>
    a.entry.priority !== b.entry.priority
      ? b.entry.priority - a.entry.priority
      : a.entry.name < b.entry.name
        ? -1
        : 1,
  );
}

describe('RouterTable', () => {
  it('finds exactly what a linear scan in priority order finds, across exact, wildcard, suffix and host-less routers', () => {
    const hosts = ['a.test', 'b.test', 'www.a.test', 'x.y.a.test', 'a.test.', 'example.org'];
    const suffixes = ['.a.test', '.test', '.y.a.test', '.org'];
    const wildcards = ['*.a.test', '*.test', '*.y.a.test'];
    const requestHosts = [...hosts, 'c.test', 'deep.x.y.a.test', 'y.a.test', 'test', '', 'other.org', 'A'];
    const paths = ['/', '/api', '/x'];
    let compared = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const rand = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const list: HostedEntry[] = [];
      const count = 1 + Math.floor(rand() * 30);
      for (let i = 0; i < count; i++) {
        const kind = rand();
        const path = rand() < 0.5 ? pick(paths) : undefined;
        const bound =
          kind < 0.35
            ? { hosts: [pick(hosts), ...(rand() < 0.3 ? [pick(hosts)] : [])] }
            : kind < 0.5
              ? { hosts: [pick(wildcards), ...(rand() < 0.3 ? [pick(hosts)] : [])] }
              : kind < 0.75
                ? { suffixes: [pick(suffixes), ...(rand() < 0.3 ? [pick(suffixes)] : [])] }
                : {};
        // Few distinct priorities, so ties (broken by name) are common.
        list.push(
          entry(`r${Math.floor(rand() * 1000)}-${i}`, 1 + Math.floor(rand() * 3), {
            ...bound,
            ...(path ? { path } : {}),
          }),
        );
      }
      const table = new RouterTable(sorted(list));
      for (const host of requestHosts) {
        for (const path of paths) {
          const req = view(host.toLowerCase(), path);
          const linear = table.entries.find((e) => e.match(req));
          assert.equal(table.find(req)?.name, linear?.name, `seed ${seed}, ${host}${path}`);
          compared++;
        }
      }
    }
    assert.equal(compared, 200 * 13 * 3);
  });

  it('tests no more rules for 10,000 host routes than for 10', () => {
    const callsFor = (routes: number): number[] => {
      const counter = { calls: 0 };
      const list: HostedEntry[] = [];
      for (let i = 0; i < routes; i++) {
        list.push(entry(`host-${i}`, 100, { hosts: [`app${i}.example.com`] }, counter));
        list.push(entry(`api-${i}`, 200, { hosts: [`app${i}.example.com`], path: '/api' }, counter));
      }
      list.push(entry('tenant', 50, { suffixes: ['.tenants.example.com'] }, counter));
      list.push(entry('fallback', 1, {}, counter));
      const table = new RouterTable(sorted(list));
      const probes = [
        view('app7.example.com', '/'),
        view('app7.example.com', '/api/v1'),
        view('acme.tenants.example.com', '/'),
        view('unknown.example.com', '/'),
      ];
      return probes.map((req) => {
        counter.calls = 0;
        assert.ok(table.find(req));
        return counter.calls;
      });
    };
    const small = callsFor(10);
    assert.deepEqual(callsFor(10_000), small);
    // The exact host tries its own two routers at most; other tiers try only their own.
    assert.deepEqual(small, [2, 1, 1, 1]);
  });

  it('files a router bound to a host and a wildcard over that host once', () => {
    const counter = { calls: 0 };
    const table = new RouterTable([
      entry('both', 1, { hosts: ['a.test', '*.a.test'], path: '/nope' }, counter),
    ]);
    assert.equal(table.find(view('a.test')), undefined);
    assert.equal(counter.calls, 1);
  });

  it('treats a trailing dot in the request host like the bare host', () => {
    const table = new RouterTable([
      entry('a', 1, { hosts: ['a.test'] }),
      entry('s', 1, { suffixes: ['.b.test'] }),
    ]);
    assert.equal(table.find(view('a.test.'))?.name, 'a');
    assert.equal(table.find(view('x.b.test.'))?.name, 's');
  });

  it('routes after updates (routers removed and inserted in place) as a table built afresh', () => {
    const hosts = ['a.test', 'b.test', 'www.a.test', 'x.y.a.test'];
    const suffixes = ['.a.test', '.test', '.y.a.test'];
    const wildcards = ['*.a.test', '*.y.a.test'];
    const requestHosts = [...hosts, 'c.test', 'deep.x.y.a.test', 'y.a.test', 'other.org'];
    const paths = ['/', '/api'];
    const byPriority = (a: HostedEntry, b: HostedEntry) =>
      a.entry.priority !== b.entry.priority
        ? b.entry.priority - a.entry.priority
        : a.entry.name < b.entry.name
          ? -1
          : a.entry.name > b.entry.name
            ? 1
            : 0;
    for (let seed = 1; seed <= 60; seed++) {
      const rand = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const make = (name: string): HostedEntry => {
        const kind = rand();
        const path = rand() < 0.5 ? pick(paths) : undefined;
        const bound =
          kind < 0.4
            ? { hosts: [pick(hosts), ...(rand() < 0.3 ? [pick(wildcards)] : [])] }
            : kind < 0.55
              ? { hosts: [pick(wildcards)] }
              : kind < 0.75
                ? { suffixes: [pick(suffixes)] }
                : {};
        const made = entry(name, 1 + Math.floor(rand() * 3), { ...bound, ...(path ? { path } : {}) });
        if (rand() < 0.3) made.entry.tls = true;
        return made;
      };
      const live = new Map<string, HostedEntry>();
      for (let i = 0; i < 15; i++) live.set(`r${i}`, make(`r${i}`));
      const table = new RouterTable(sorted([...live.values()]));
      for (let step = 0; step < 30; step++) {
        const removed: string[] = [];
        const added: HostedEntry[] = [];
        // Some steps insert many routers between the same two, so ranks run out and renumber.
        const count = step % 10 === 9 ? 60 : 1 + Math.floor(rand() * 3);
        for (let i = 0; i < count; i++) {
          const name = `r${Math.floor(rand() * 40)}`;
          if (removed.includes(name)) continue;
          removed.push(name);
          live.delete(name);
          if (rand() < 0.75) {
            const made = make(name);
            added.push(made);
            live.set(name, made);
          }
        }
        table.update(removed, added.sort(byPriority), byPriority);
        const fresh = new RouterTable(sorted([...live.values()]));
        assert.deepEqual(
          table.entries.map((e) => e.name),
          fresh.entries.map((e) => e.name),
        );
        for (const host of requestHosts)
          for (const path of paths) {
            const req = view(host, path);
            const where = `seed ${seed} step ${step}: ${host}${path}`;
            assert.equal(table.find(req)?.name, fresh.find(req)?.name, where);
            assert.equal(table.findTls(req)?.name, fresh.findTls(req)?.name, where);
          }
        for (const name of removed) assert.equal(table.has(name), live.has(name));
      }
    }
  });

  it('keeps the order when many routers are inserted between the same two', () => {
    const byName = (a: HostedEntry, b: HostedEntry) => (a.entry.name < b.entry.name ? -1 : 1);
    // A suffix router too, so lookups merge buckets by rank.
    const table = new RouterTable([
      // `a` is not first: between ranks 1 and 2, halving runs out of numbers after some 50 inserts.
      entry('A', 1, { hosts: ['h.test'], path: '/none' }),
      entry('a', 1, { hosts: ['h.test'] }),
      entry('b', 1, { hosts: ['h.test'] }),
      entry('c', 1, { suffixes: ['.test'] }),
    ]);
    const names = ['A', 'a', 'b', 'c'];
    // Each sorts right after `a`, before the one inserted last: the gap halves every time.
    for (let i = 999; i > 799; i--) {
      const name = `a${i}`;
      table.update([], [entry(name, 1, { hosts: ['h.test'], path: `/${i}` })], byName);
      names.push(name);
    }
    assert.deepEqual(
      table.entries.map((e) => e.name),
      names.sort(),
    );
    assert.equal(table.find(view('h.test', '/850'))?.name, 'a');
    table.update(['a'], [], byName);
    assert.equal(table.find(view('h.test', '/850'))?.name, 'a850');
    assert.equal(table.find(view('h.test', '/'))?.name, 'b');
    table.update(['a900', 'b'], [], byName);
    assert.equal(table.find(view('h.test', '/900'))?.name, 'c');
    assert.equal(table.find(view('h.test', '/901'))?.name, 'a901');
  });
});
