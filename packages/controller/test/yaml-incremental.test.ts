// The incremental YAML reader gives exactly what a reading from scratch gives, after any sequence of edits, errors included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StaticConfig } from '@berth/config';
import { compile } from '../src/compiler/compile.js';
import type { ProviderPart } from '../src/provider/provider-part.js';
import { type ParsedFile, parseConfigFile } from '../src/provider/yaml-config-file.js';
import { IncrementalYamlFile, splitEntries } from '../src/provider/yaml-incremental.js';

const ORIGIN = '/etc/berth/dynamic.yml';
const STATICS: StaticConfig = { entryPoints: { web: { address: ':80' }, websecure: { address: ':443' } } };

/** A small deterministic PRNG (mulberry32), so a failure names a seed that replays it. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Entry = string[]; // the entry's lines below its key, indented relative to the key
interface Model {
  routers: Map<string, Entry>;
  services: Map<string, Entry>;
  middlewares: Map<string, Entry>;
  tcpRouters: Map<string, Entry>;
  /** Lines spliced in verbatim somewhere, to break the file (or its simple shape) for a while. */
  damage: { section: keyof Omit<Model, 'damage' | 'comments'>; line: string } | null;
  comments: boolean;
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function routerLines(rand: () => number, services: string[], middlewares: string[]): Entry {
  const lines = [
    `rule: ${pick(rand, ['Host(`a.test`)', '"Host(`b.test`) && PathPrefix(`/x`)"', 'Path(`/p`)'])}`,
  ];
  lines.push(`service: ${services.length > 0 && rand() < 0.85 ? pick(rand, services) : 'nowhere'}`);
  if (rand() < 0.3) lines.push(rand() < 0.5 ? 'entryPoints: [web]' : 'entryPoints:\n  - websecure');
  if (rand() < 0.25 && middlewares.length > 0) lines.push('middlewares:', `  - ${pick(rand, middlewares)}`);
  if (rand() < 0.15) lines.push(`priority: ${Math.floor(rand() * 100)}`);
  if (rand() < 0.1) lines.push('tls: {}');
  return lines;
}

function serviceLines(rand: () => number, others: string[]): Entry {
  if (others.length > 0 && rand() < 0.2)
    return ['weighted:', '  services:', `    - name: ${pick(rand, others)}`, '      weight: 2'];
  return [
    'loadBalancer:',
    '  servers:',
    `    - url: http://127.0.0.1:${8000 + Math.floor(rand() * 100)}`,
    ...(rand() < 0.3 ? ['  passHostHeader: false'] : []),
  ];
}

function middlewareLines(rand: () => number, others: string[]): Entry {
  const r = rand();
  if (r < 0.3 && others.length > 0) return ['chain:', '  middlewares:', `    - ${pick(rand, others)}`];
  if (r < 0.6) return ['stripPrefix:', '  prefixes:', '    - /x'];
  return ['headers:', '  customResponseHeaders:', `    X-Seen: "${Math.floor(rand() * 10)}"`];
}

function tcpRouterLines(rand: () => number): Entry {
  return ['rule: HostSNI(`*`)', `service: ${pick(rand, ['tcp-a', 'tcp-b'])}`, 'entryPoints: [websecure]'];
}

/** Validation errors the validator and compiler report with a line: each replaces an entry's lines. */
const INVALID: Entry[] = [
  ['rule: ""', 'service: s0'],
  ['service: s0'],
  ['rule: Host(`x.test`)', 'service: s0', 'priority: -3'],
  ['rule: Host(`x.test`)', 'service: s0', 'colour: blue'],
  ['rule: Hots(`x.test`)', 'service: s0'],
  ['loadBalancer: 5'],
  ['rule: Host(`x.test`)', 'service:', '  - a'],
];

/** Lines that make the file unreadable, or read only by the document model. */
const DAMAGE = [
  '  bad: [unclosed',
  '    key: "unterminated',
  'http: again',
  '  anchored: &a',
  '    rule: *a',
  '\tservice: tab',
  '    dup:',
  '---',
  'just text',
];

function render(model: Model, rand: () => number): string {
  const out: string[] = [];
  const comment = (indent: string) => {
    if (model.comments && rand() < 0.15) out.push(`${indent}# note ${Math.floor(rand() * 5)}`);
    if (model.comments && rand() < 0.1) out.push('');
  };
  const section = (key: keyof Model, name: string, indent: string, entries: Map<string, Entry>) => {
    out.push(`${indent}${name}:`);
    for (const [entry, lines] of entries) {
      comment(indent);
      out.push(`${indent}  ${entry}:`);
      for (const line of lines) for (const l of line.split('\n')) out.push(`${indent}    ${l}`);
    }
    if (model.damage?.section === key) out.push(model.damage.line);
  };
  if (rand() < 0.2) out.push('# generated');
  out.push('http:');
  section('routers', 'routers', '  ', model.routers);
  if (model.services.size > 0 || rand() < 0.5) section('services', 'services', '  ', model.services);
  if (model.middlewares.size > 0) section('middlewares', 'middlewares', '  ', model.middlewares);
  if (model.tcpRouters.size > 0) {
    out.push('tcp:');
    section('tcpRouters', 'routers', '  ', model.tcpRouters);
    out.push(
      '  services:',
      '    tcp-a:',
      '      loadBalancer:',
      '        servers:',
      '          - address: 127.0.0.1:9',
    );
  }
  return `${out.join('\n')}\n`;
}

function edit(model: Model, rand: () => number, fresh: () => string): void {
  const kinds = ['routers', 'services', 'middlewares', 'tcpRouters'] as const;
  const kind = pick<(typeof kinds)[number]>(rand, [...kinds, 'routers', 'routers', 'services']);
  const entries = model[kind];
  const names = [...entries.keys()];
  const services = [...model.services.keys()];
  const middlewares = [...model.middlewares.keys()];
  const make = (): Entry =>
    kind === 'routers'
      ? routerLines(rand, services, middlewares)
      : kind === 'services'
        ? serviceLines(rand, services)
        : kind === 'middlewares'
          ? middlewareLines(rand, middlewares)
          : tcpRouterLines(rand);
  const r = rand();
  if (model.damage !== null && r < 0.5) {
    model.damage = null; // fixed
  } else if (r < 0.3 && names.length > 0) {
    entries.set(pick(rand, names), make());
  } else if (r < 0.5) {
    entries.set(fresh(), make());
  } else if (r < 0.62 && names.length > 0) {
    entries.delete(pick(rand, names));
  } else if (r < 0.72 && names.length > 0) {
    entries.set(pick(rand, names), pick(rand, INVALID));
  } else if (r < 0.8) {
    model.damage = { section: kind, line: pick(rand, DAMAGE) };
  } else if (r < 0.88 && names.length > 1) {
    // A move: the same text elsewhere, so its lines shift and its old place is gone.
    const name = pick(rand, names);
    const lines = entries.get(name) as Entry;
    entries.delete(name);
    entries.set(name, lines);
  } else if (r < 0.94) {
    model.comments = !model.comments;
  } else if (names.length > 0) {
    entries.set(pick(rand, names), make());
    const other = pick(rand, names);
    entries.set(other, make());
  }
}

function partOf(parsed: ParsedFile): ProviderPart {
  if (parsed.kind !== 'ok')
    return {
      sourceKey: ORIGIN,
      provider: 'file',
      config: { http: { routers: {}, services: {} } },
      errors: [],
    };
  return {
    sourceKey: ORIGIN,
    provider: 'file',
    config: parsed.config,
    errors: parsed.errors,
    sources: parsed.sources,
  };
}

describe('IncrementalYamlFile', () => {
  it('reads every step of random edit sequences exactly as parseConfigFile does, and compiles the same', () => {
    let incrementalSteps = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const rand = random(seed);
      let counter = 0;
      const fresh = () => `e${counter++}`;
      const model: Model = {
        routers: new Map(),
        services: new Map(),
        middlewares: new Map(),
        tcpRouters: new Map(),
        damage: null,
        comments: rand() < 0.5,
      };
      for (let i = 0; i < 8; i++) model.services.set(fresh(), serviceLines(rand, []));
      for (let i = 0; i < 12; i++)
        model.routers.set(fresh(), routerLines(rand, [...model.services.keys()], []));
      const file = new IncrementalYamlFile(ORIGIN);
      // Compiled one after the other, as the controller does, so the compiler's own reuse of
      // unchanged sections (merge, verdicts) is exercised too; compared with fresh compiles after.
      const steps: Array<{ text: string; compiled: ReturnType<typeof compile> }> = [];
      for (let step = 0; step < 30; step++) {
        const text = render(model, random(seed * 1000 + step));
        const got = file.parse(text);
        const want = parseConfigFile(text, ORIGIN);
        assert.deepStrictEqual(got, want, `seed ${seed}, step ${step}:\n${text}`);
        if (splitEntries(text) !== null && got.kind === 'ok') incrementalSteps++;
        steps.push({ text, compiled: compile([partOf(got)], STATICS) });
        edit(model, rand, fresh);
      }
      for (const [step, { text, compiled }] of steps.entries()) {
        const scratch = compile([partOf(parseConfigFile(text, ORIGIN))], STATICS);
        assert.deepStrictEqual(compiled, scratch, `seed ${seed}, step ${step}:\n${text}`);
      }
    }
    // The sequences must mostly exercise the incremental path, not the fallback.
    assert.ok(incrementalSteps > 300, `only ${incrementalSteps} incremental steps`);
  });

  it('keeps unchanged entries as the same objects and reads only the changed one anew', () => {
    const text = (host: string) =>
      [
        'http:',
        '  routers:',
        '    a:',
        '      rule: Host(`a.test`)',
        '      service: s',
        '    b:',
        `      rule: Host(\`${host}\`)`,
        '      service: s',
        '  services:',
        '    s:',
        '      loadBalancer:',
        '        servers:',
        '          - url: http://127.0.0.1:9',
        '',
      ].join('\n');
    const file = new IncrementalYamlFile(ORIGIN);
    const first = file.parse(text('b.test'));
    const second = file.parse(`# a comment moves every line\n${text('c.test')}`);
    assert.equal(first.kind, 'ok');
    assert.equal(second.kind, 'ok');
    if (first.kind !== 'ok' || second.kind !== 'ok') return;
    assert.equal(second.config.http.routers.a, first.config.http.routers.a);
    assert.equal(second.config.http.services.s, first.config.http.services.s);
    assert.notEqual(second.config.http.routers.b, first.config.http.routers.b);
    assert.equal(second.config.http.routers.b?.rule, 'Host(`c.test`)');
    assert.deepEqual(second.sources.routers.a, { provider: 'file', origin: ORIGIN, line: 4 });
  });

  it('names file and line of a problem in an entry that was read before, after lines above it moved', () => {
    const body = [
      '  routers:',
      '    r:',
      '      rule: Host(`a.test`)',
      '      service: s',
      '      colour: blue',
      '',
    ];
    const file = new IncrementalYamlFile(ORIGIN);
    const first = file.parse(['http:', ...body].join('\n'));
    const second = file.parse(['# one', '# two', 'http:', ...body].join('\n'));
    assert.equal(first.kind, 'ok');
    assert.equal(second.kind, 'ok');
    if (first.kind !== 'ok' || second.kind !== 'ok') return;
    assert.equal(first.errors[0]?.source?.line, 6);
    assert.equal(second.errors[0]?.source?.line, 8);
    assert.equal(second.errors[0]?.source?.origin, ORIGIN);
  });

  it('reads a broken file as parseConfigFile does, then the fixed one again from what it kept', () => {
    const good = 'http:\n  routers:\n    r:\n      rule: Host(`a.test`)\n      service: s\n';
    const file = new IncrementalYamlFile(ORIGIN);
    const first = file.parse(good);
    const broken = `${good}    x: [unclosed\n`;
    assert.deepStrictEqual(file.parse(broken), parseConfigFile(broken, ORIGIN));
    assert.equal(file.parse(broken).kind, 'invalid');
    const fixed = file.parse(good);
    assert.deepStrictEqual(fixed, first);
    if (fixed.kind === 'ok' && first.kind === 'ok')
      assert.equal(fixed.config.http.routers.r, first.config.http.routers.r);
  });
});
