// The file-provider half of the compatibility corpus: Traefik dynamic-configuration files 53-68
// through Berth's YAML reader and the compiler, router by router against EXPECTED.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ProviderPart } from '../src/provider/provider-part.js';
import { parseConfigFile } from '../src/provider/yaml-config-file.js';
import { corpusDir, type ExpectedFile } from './support/compose-corpus.js';
import { compareRouters, type RouterOutcome, stubsFor, type Verdict } from './support/corpus-compare.js';

/** Why a router Traefik accepts differs in Berth, by cause; a change fails the test (see KNOWN_CAUSES of the label test). */
const KNOWN_CAUSES: Readonly<Record<string, number>> = {};

function partOf(dir: string, expected: ExpectedFile): ProviderPart {
  const path = join(dir, expected.file);
  // Files 58, 63, 64, 65 are Go templates (`{{ env "DOMAINNAME_HS" }}`), rendered with the corpus's environment.
  const parsed = parseConfigFile(readFileSync(path, 'utf8'), path, {
    env: expected.assumptions.templateEnv ?? {},
  });
  if (parsed.kind === 'ok')
    return { sourceKey: path, config: parsed.config, errors: parsed.errors, sources: parsed.sources };
  return {
    sourceKey: path,
    config: { http: { routers: {}, services: {} } },
    errors: parsed.kind === 'invalid' ? [parsed.error] : [],
  };
}

const dir = corpusDir();

describe('Traefik dynamic-configuration files of the compatibility corpus', {
  skip: dir === undefined ? 'corpus not found (set BERTH_CORPUS_DIR)' : false,
}, () => {
  it('builds every router Traefik accepts as Traefik does, except for known causes', () => {
    const root = dir as string;
    const expected = (
      JSON.parse(readFileSync(join(root, 'EXPECTED.json'), 'utf8')) as { files: ExpectedFile[] }
    ).files;
    const files = expected.filter((f) => /^(5[3-9]|6\d)-/.test(f.file));
    assert.equal(files.length, 16);
    const outcomes: RouterOutcome[] = [];
    const unreadable: string[] = [];
    for (const f of files) {
      const part = partOf(root, f);
      if (part.errors.some((e) => e.code.startsWith('BERTH_FILE_'))) unreadable.push(f.file);
      const { outcomes: o } = compareRouters(f, [part, ...stubsFor(f)]);
      outcomes.push(
        ...o.map((x) =>
          x.verdict === 'mismatch' && f.kind === 'dynamic' && unreadable.includes(f.file)
            ? { ...x, cause: 'file Berth cannot read (YAML, or a Go template beyond its subset)' }
            : x,
        ),
      );
    }
    const count = (v: Verdict) => outcomes.filter((o) => o.verdict === v).length;
    const causes: Record<string, number> = {};
    for (const o of outcomes)
      if (o.cause !== undefined && o.verdict === 'mismatch') causes[o.cause] = (causes[o.cause] ?? 0) + 1;
    const sorted = Object.fromEntries(Object.entries(causes).sort(([a], [b]) => (a < b ? -1 : 1)));
    console.log(
      [
        `file corpus: ${files.length} files, ${outcomes.length} routers; files Berth cannot read: ${unreadable.length}`,
        `  matched: ${count('matched')}, rightly rejected: ${count('rightly rejected')}, mismatched: ${count('mismatch')}`,
        ...Object.entries(sorted).map(([cause, n]) => `  ${String(n).padStart(3)}  ${cause}`),
      ].join('\n'),
    );
    if (process.env.BERTH_CORPUS_VERBOSE) {
      for (const o of outcomes.filter((x) => x.verdict === 'mismatch'))
        console.log(`${o.file} ${o.kind} ${o.name}: ${o.cause} -- ${o.detail ?? ''}`);
    }
    assert.deepEqual(sorted, KNOWN_CAUSES);
  });
});
