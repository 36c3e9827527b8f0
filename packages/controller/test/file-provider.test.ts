// Tests for the file provider against real temp files: reads, edits, editor truncation, errors, directories.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import { FileProvider, type FileProviderOptions } from '../src/provider/file-provider.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

const SETTLE = 300;

function yamlFor(name: string, host: string): string {
  return [
    'http:',
    '  routers:',
    `    ${name}:`,
    `      rule: Host(\`${host}\`)`,
    `      service: ${name}-svc`,
    '  services:',
    `    ${name}-svc:`,
    '      loadBalancer:',
    '        servers:',
    '          - url: http://10.0.0.1:8080',
    '',
  ].join('\n');
}

/** Records every delivery and lets a test wait until one satisfies a condition. */
class Recorder {
  readonly deliveries: ProviderPart[][] = [];
  private waiters: { pred: (parts: ProviderPart[]) => boolean; resolve: (parts: ProviderPart[]) => void }[] =
    [];

  readonly listener = (parts: ProviderPart[]): void => {
    this.deliveries.push(parts);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(parts)) return true;
      w.resolve(parts);
      return false;
    });
  };

  get last(): ProviderPart[] {
    return this.deliveries.at(-1) ?? [];
  }

  waitFor(pred: (parts: ProviderPart[]) => boolean, what: string, timeoutMs = 5000): Promise<ProviderPart[]> {
    if (pred(this.last)) return Promise.resolve(this.last);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (parts) => {
          clearTimeout(timer);
          resolve(parts);
        },
      });
    });
  }
}

function rules(parts: ProviderPart[]): string[] {
  return parts.flatMap((p) => Object.values(p.config.http.routers).map((r) => r.rule));
}

describe('FileProvider', () => {
  let dir: string;
  let provider: FileProvider | undefined;
  let rec: Recorder;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-file-'));
    rec = new Recorder();
  });
  afterEach(async () => {
    await provider?.close();
    provider = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function startOn(path: string, options: Partial<FileProviderOptions> = {}): Promise<FileProvider> {
    provider = new FileProvider({ path, debounceMs: 20, settleMs: SETTLE, ...options });
    provider.onChange(rec.listener);
    await provider.start();
    return provider;
  }

  it('reads a single file on start, with sources', async () => {
    const file = join(dir, 'dynamic.yml');
    await writeFile(file, yamlFor('web', 'a.test'));
    const p = await startOn(file);
    assert.equal(rec.deliveries.length, 1);
    const [part] = p.current();
    assert.equal(part?.sourceKey, file);
    assert.deepEqual(part?.errors, []);
    assert.deepEqual(rules(p.current()), ['Host(`a.test`)']);
    assert.deepEqual(part?.sources?.routers['web'], { provider: 'file', origin: file, line: 3 });
    assert.deepEqual(part?.sources?.services['web-svc'], { provider: 'file', origin: file, line: 7 });
  });

  it('renders a Go template with its environment, and a file beyond the subset fails alone', async () => {
    await writeFile(join(dir, 'a.yml'), yamlFor('web', '{{ env "DOMAIN" | default "fallback.test" }}'));
    await writeFile(join(dir, 'b.yml'), yamlFor('other', '{{ tpl "x" . }}'));
    const p = await startOn(dir, { env: { DOMAIN: 'example.com' } });
    assert.deepEqual(rules(p.current()), ['Host(`example.com`)']);
    const broken = p.current().find((x) => x.sourceKey.endsWith('b.yml'));
    assert.equal(broken?.errors[0]?.code, ErrorCodes.FILE_TEMPLATE_UNSUPPORTED);
    assert.match(broken?.errors[0]?.message ?? '', /b\.yml:4: Go template: function "tpl"/);
  });

  it('detects an edit, including an editor replacing the file by rename', async () => {
    const file = join(dir, 'dynamic.yaml');
    await writeFile(file, yamlFor('web', 'a.test'));
    await startOn(file);
    await writeFile(file, yamlFor('web', 'b.test'));
    await rec.waitFor((parts) => rules(parts)[0] === 'Host(`b.test`)', 'in-place edit');
    const temp = join(dir, '.dynamic.yaml.swp');
    await writeFile(temp, yamlFor('web', 'c.test'));
    await rename(temp, file);
    await rec.waitFor((parts) => rules(parts)[0] === 'Host(`c.test`)', 'rename over the file');
  });

  it('does not deliver when nothing effective changed', async () => {
    const file = join(dir, 'dynamic.yml');
    await writeFile(file, yamlFor('web', 'a.test'));
    await startOn(file);
    await writeFile(file, yamlFor('web', 'a.test'));
    await writeFile(join(dir, 'notes.txt'), 'unrelated');
    await sleep(150);
    assert.equal(rec.deliveries.length, 1);
  });

  it('keeps the last good configuration of a file that stops parsing, and says where', async () => {
    const file = join(dir, 'dynamic.yml');
    await writeFile(file, yamlFor('web', 'a.test'));
    await startOn(file);
    await writeFile(file, 'http:\n  routers:\n    web: {rule: "Host(`x`)"\n');
    const parts = await rec.waitFor((p) => (p[0]?.errors.length ?? 0) > 0, 'parse error');
    assert.deepEqual(rules(parts), ['Host(`a.test`)']);
    const [error] = parts[0]?.errors ?? [];
    assert.equal(error?.code, ErrorCodes.FILE_PARSE);
    assert.equal(error?.source?.origin, file);
    assert.equal(typeof error?.source?.line, 'number');
    assert.match(error?.message ?? '', new RegExp(`${file}:\\d+:\\d+: YAML parse error`));
    // Every delivery kept the route: no empty configuration in between.
    for (const delivery of rec.deliveries) assert.deepEqual(rules(delivery), ['Host(`a.test`)']);

    await writeFile(file, yamlFor('web', 'fixed.test'));
    const fixed = await rec.waitFor((p) => rules(p)[0] === 'Host(`fixed.test`)', 'fix');
    assert.deepEqual(fixed[0]?.errors, []);
  });

  it('reports a file that never parsed at once, with an empty configuration', async () => {
    const file = join(dir, 'dynamic.yml');
    await writeFile(file, 'http: [\n');
    const p = await startOn(file);
    const [part] = p.current();
    assert.deepEqual(part?.config.http, { routers: {}, services: {} });
    assert.equal(part?.errors[0]?.code, ErrorCodes.FILE_PARSE);
    assert.equal(part?.errors[0]?.source?.line, 2);
  });

  it('never publishes an empty configuration while an editor truncates then writes', async () => {
    const file = join(dir, 'dynamic.yml');
    await writeFile(file, yamlFor('web', 'a.test'));
    // A generous settle time keeps the test deterministic on a loaded machine.
    await startOn(file, { settleMs: 2000 });
    await truncate(file, 0);
    await sleep(80); // well past the debounce: the empty file is seen
    await writeFile(file, 'http:\n  routers:\n    web: {rule: "Ho'); // half written, unparsable
    await sleep(60);
    await writeFile(file, yamlFor('web', 'b.test').slice(0, 30)); // parses, but the router lacks fields
    await sleep(60);
    await writeFile(file, yamlFor('web', 'b.test'));
    await rec.waitFor((parts) => rules(parts)[0] === 'Host(`b.test`)', 'rewritten file');
    for (const delivery of rec.deliveries) assert.equal(rules(delivery).length, 1);
  });

  it('believes an empty file once it stays empty past the settle time', async () => {
    const file = join(dir, 'dynamic.yml');
    await writeFile(file, yamlFor('web', 'a.test'));
    await startOn(file);
    const emptiedAt = Date.now();
    await writeFile(file, '# nothing here\n');
    const parts = await rec.waitFor((p) => rules(p).length === 0, 'empty configuration');
    assert.ok(Date.now() - emptiedAt >= SETTLE - 20, 'published before the settle time');
    assert.deepEqual(parts[0]?.errors, []);
    assert.equal(parts[0]?.sourceKey, file);
  });

  it('accepts an edit that breaks validation once it stays past the settle time', async () => {
    const file = join(dir, 'dynamic.yml');
    await writeFile(file, yamlFor('web', 'a.test'));
    await startOn(file);
    await writeFile(file, yamlFor('web', 'a.test').replace('http://10.0.0.1:8080', 'not-a-url'));
    const parts = await rec.waitFor((p) => (p[0]?.errors.length ?? 0) > 0, 'validation error');
    assert.equal(parts[0]?.errors[0]?.code, 'BERTH_CONFIG_INVALID_URL');
    assert.equal(parts[0]?.errors[0]?.source?.line, 10);
    assert.equal(rec.deliveries.length, 2);
  });

  it('reports a single file that is deleted as missing, after the settle time', async () => {
    const file = join(dir, 'dynamic.yml');
    await writeFile(file, yamlFor('web', 'a.test'));
    await startOn(file);
    await unlink(file);
    const parts = await rec.waitFor((p) => p[0]?.errors[0]?.code === ErrorCodes.FILE_MISSING, 'missing file');
    assert.equal(parts.length, 1);
    assert.deepEqual(rules(parts), []);
    await writeFile(file, yamlFor('web', 'back.test'));
    await rec.waitFor((p) => rules(p)[0] === 'Host(`back.test`)', 'file back');
  });

  it('reads a directory tree of YAML files, sorted, and ignores the rest', async () => {
    await mkdir(join(dir, 'sub', 'deeper'), { recursive: true });
    await mkdir(join(dir, '.hidden'));
    await writeFile(join(dir, 'b.yml'), yamlFor('b', 'b.test'));
    await writeFile(join(dir, 'a.yaml'), yamlFor('a', 'a.test'));
    await writeFile(join(dir, 'sub', 'deeper', 'c.YML'), yamlFor('c', 'c.test'));
    await writeFile(join(dir, 'readme.md'), '# not config');
    await writeFile(join(dir, '.b.yml.swp'), 'garbage: [');
    await writeFile(join(dir, '.hidden', 'd.yml'), yamlFor('d', 'd.test'));
    const p = await startOn(dir);
    assert.deepEqual(
      p.current().map((part) => part.sourceKey),
      [join(dir, 'a.yaml'), join(dir, 'b.yml'), join(dir, 'sub', 'deeper', 'c.YML')],
    );

    await writeFile(join(dir, 'sub', 'e.yml'), yamlFor('e', 'e.test'));
    await rec.waitFor((parts) => parts.length === 4, 'new file');
    await mkdir(join(dir, 'new-dir'));
    await sleep(60); // the new directory gets its own watcher on the scan its creation triggers
    await writeFile(join(dir, 'new-dir', 'f.yml'), yamlFor('f', 'f.test'));
    await rec.waitFor((parts) => parts.length === 5, 'file in a new directory');
  });

  it('removes the part of a deleted file after the settle time', async () => {
    await writeFile(join(dir, 'a.yml'), yamlFor('a', 'a.test'));
    await writeFile(join(dir, 'b.yml'), yamlFor('b', 'b.test'));
    await startOn(dir);
    assert.equal(rec.last.length, 2);
    await unlink(join(dir, 'b.yml'));
    const parts = await rec.waitFor((p) => p.length === 1, 'deletion');
    assert.equal(parts[0]?.sourceKey, join(dir, 'a.yml'));
  });

  it('reports a missing directory and picks it up when it appears', async () => {
    const target = join(dir, 'later', 'conf.d');
    const p = await startOn(target);
    const [part] = p.current();
    assert.equal(part?.sourceKey, target);
    assert.equal(part?.errors[0]?.code, ErrorCodes.FILE_MISSING);
    await mkdir(join(dir, 'later'));
    await sleep(60);
    await mkdir(target);
    await sleep(60);
    await writeFile(join(target, 'a.yml'), yamlFor('a', 'a.test'));
    await rec.waitFor((parts) => rules(parts).length === 1, 'directory contents', 5000);
    assert.deepEqual(rec.last[0]?.errors, []);
  });

  it('traces validation errors to their line', async () => {
    const file = join(dir, 'dynamic.yml');
    await writeFile(
      file,
      [
        'http:',
        '  routers:',
        '    web:',
        '      rule: Host(`a.test`)',
        '      service: svc',
        '      bogus: 1',
        '  services:',
        '    svc:',
        '      loadBalancer:',
        '        servers:',
        '          - url: http://10.0.0.1:8080',
        '',
      ].join('\n'),
    );
    const p = await startOn(file);
    const errors = p.current()[0]?.errors ?? [];
    assert.ok(errors.length > 0, 'validation error expected');
    assert.equal(errors[0]?.source?.origin, file);
    assert.equal(errors[0]?.source?.line, 6);
  });

  it('stops delivering after close', async () => {
    const file = join(dir, 'dynamic.yml');
    await writeFile(file, yamlFor('web', 'a.test'));
    const p = await startOn(file);
    await p.close();
    await writeFile(file, yamlFor('web', 'b.test'));
    await sleep(100);
    assert.equal(rec.deliveries.length, 1);
  });
});
