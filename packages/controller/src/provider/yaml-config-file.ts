// Turns the text of one YAML file into validated dynamic configuration, every element traced to its line.
import { type ConfigError, type DynamicConfig, type Source, validateDynamic } from '@berth/config';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { type Document, isMap, isScalar, isSeq, LineCounter, parseDocument, type YAMLMap } from 'yaml';
import { ErrorCodes } from '../compiler/error-codes.js';
import type { PartSources } from './provider-part.js';
import { isTemplate, renderFileTemplate, type TemplateEnv } from './template/file-template.js';
import type { TemplateProblem } from './template/go-template.js';
import { indexKeyLines, keyLine } from './yaml-key-lines.js';

export type ParsedFile =
  /** No document at all (blank, comments only, or a bare `null`). */
  | { kind: 'empty' }
  | { kind: 'invalid'; error: ConfigError }
  | { kind: 'ok'; config: DynamicConfig; errors: ConfigError[]; sources: PartSources };

export const FILE_PROVIDER = 'file';

export interface ParseOptions {
  /** false: always the YAML library's full path (see parseYaml). */
  fast?: boolean;
  /** What `{{ env "X" }}` reads (default: the controller's environment, as Traefik's). */
  env?: TemplateEnv;
}

/**
 * A file with `{{` is a Go template, rendered first as Traefik does (see template/); sources and
 * errors then point at the template's lines: a line of the rendered text maps to the template line
 * its first character came from (a `range` body's lines to the body's lines). Never throws.
 */
export function parseConfigFile(text: string, origin: string, options: ParseOptions = {}): ParsedFile {
  if (!isTemplate(text)) return parseYaml(text, origin, options);
  const rendered = renderFileTemplate(text, options.env ?? process.env);
  if (!rendered.ok) return { kind: 'invalid', error: templateError(origin, rendered.problem) };
  const lines = rendered.lines;
  const lineOf = (line: number): number => lines[line - 1] ?? lines[lines.length - 1] ?? line;
  return toTemplateLines(parseYaml(rendered.text, origin, options), origin, lineOf);
}

function templateError(origin: string, problem: TemplateProblem): ConfigError {
  const unsupported = problem.kind === 'unsupported';
  return {
    code: unsupported ? ErrorCodes.FILE_TEMPLATE_UNSUPPORTED : ErrorCodes.FILE_TEMPLATE,
    path: '',
    message: `${origin}:${problem.line}: Go template: ${problem.message}${unsupported ? ' (Berth renders env, default, if/range/with, variables and the common sprig string functions)' : ''}`,
    source: { provider: FILE_PROVIDER, origin, line: problem.line },
  };
}

function toTemplateLines(parsed: ParsedFile, origin: string, lineOf: (line: number) => number): ParsedFile {
  const at = (source: Source): Source =>
    source.line === undefined ? source : { ...source, line: lineOf(source.line) };
  const error = (e: ConfigError): ConfigError =>
    e.source === undefined ? e : { ...e, source: at(e.source) };
  if (parsed.kind === 'empty') return parsed;
  if (parsed.kind === 'invalid') {
    const e = parsed.error;
    const line = e.source?.line;
    // The parse error's `origin:line:column:` prefix names the template's line; the column is the rendered one's.
    const message =
      line === undefined ? e.message : e.message.replace(`${origin}:${line}:`, `${origin}:${lineOf(line)}:`);
    return { kind: 'invalid', error: { ...error(e), message } };
  }
  const sources = Object.fromEntries(
    Object.entries(parsed.sources).map(([kind, record]) => [
      kind,
      Array.isArray(record)
        ? record.map(at)
        : Object.fromEntries(Object.entries(record as Record<string, Source>).map(([k, v]) => [k, at(v)])),
    ]),
  ) as unknown as PartSources;
  return { kind: 'ok', config: parsed.config, errors: parsed.errors.map(error), sources };
}

/**
 * `origin` is the absolute file path every source points at. Never throws. Files in the plain
 * block style (nearly all) are read by js-yaml with a one-pass index of key lines, several times
 * faster than the YAML library's document model; anything else, and any file js-yaml refuses,
 * takes the full path, so errors read exactly as before. `fast: false` forces the full path.
 */
function parseYaml(text: string, origin: string, options: ParseOptions): ParsedFile {
  if (options.fast !== false) {
    const fast = parseFast(text, origin);
    if (fast !== null) return fast;
  }
  const lineCounter = new LineCounter();
  // prettyErrors off: the message should be the YAML complaint alone; we add file, line and column ourselves.
  // uniqueKeys off: the library's check is quadratic in a map's size (10,000 routers took seconds);
  // duplicateKey() below does the same check in one pass.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const firstError = doc.errors[0];
  if (firstError !== undefined) {
    const { line, col } = lineCounter.linePos(firstError.pos[0]);
    return { kind: 'invalid', error: parseError(origin, firstError.message, line, col) };
  }
  const duplicate = duplicateKey(doc.contents);
  if (duplicate !== undefined) {
    const { line, col } = lineCounter.linePos(duplicate.offset);
    return {
      kind: 'invalid',
      error: parseError(origin, `Map keys must be unique ('${duplicate.key}')`, line, col),
    };
  }
  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) return { kind: 'empty' };

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Alias bombs and the like fail here, after a syntactically clean parse.
    const { line, col } = lineCounter.linePos(contents.range?.[0] ?? 0);
    return { kind: 'invalid', error: parseError(origin, errorMessage(err), line, col) };
  }
  return validated(raw, documentSources(doc, lineCounter, origin));
}

/** js-yaml and the key-line index, or null when the file needs the full path. */
function parseFast(text: string, origin: string): ParsedFile | null {
  const index = indexKeyLines(text);
  if (index === null || index.exact.size === 0) return null;
  let raw: unknown;
  try {
    // The core schema is YAML 1.2's, as the YAML library reads by default: no timestamps, no merge keys.
    raw = loadYaml(text, { schema: CORE_SCHEMA, filename: origin });
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  let full: ((path: string[]) => Source) | null = null;
  return validated(raw, (path) => {
    const found = keyLine(index, path);
    if (found.complete && found.line !== undefined)
      return { provider: FILE_PROVIDER, origin, line: found.line };
    // A path into a sequence, or to a key that is not there (an error's): the document model knows.
    if (full === null) {
      const lineCounter = new LineCounter();
      const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
      full = documentSources(doc, lineCounter, origin);
    }
    return full(path);
  });
}

export function documentSources(
  doc: Document,
  lineCounter: LineCounter,
  origin: string,
): (path: string[]) => Source {
  return (path) => {
    const offset = locate(doc, path);
    if (offset === undefined) return { provider: FILE_PROVIDER, origin };
    return { provider: FILE_PROVIDER, origin, line: lineCounter.linePos(offset).line };
  };
}

function validated(raw: unknown, sourceOf: (path: string[]) => Source): ParsedFile {
  const { config, errors } = validateDynamic(raw, { sourceOf });
  return { kind: 'ok', config, errors, sources: validatedSources(config, sourceOf) };
}

/**
 * Builds the sources of one kind of element; `reuse` may answer with the record it built for the
 * same elements before (the incremental reader does when none of their lines moved).
 */
export type SourcesRecord = (
  section: string,
  key: string,
  elements: object,
  build: () => Record<string, Source>,
) => Record<string, Source>;

/** Where each element of `config` was written, by kind and name. */
export function validatedSources(
  config: DynamicConfig,
  sourceOf: (path: string[]) => Source,
  reuse: SourcesRecord = (_section, _key, _elements, build) => build(),
): PartSources {
  const record = (section: string, key: string, elements: Record<string, unknown>) =>
    // fromEntries defines own properties, so an element named `__proto__` gets its source too.
    reuse(section, key, elements, () =>
      Object.fromEntries(Object.keys(elements).map((name) => [name, sourceOf([section, key, name])])),
    );
  const sources: PartSources = {
    routers: record('http', 'routers', config.http.routers),
    services: record('http', 'services', config.http.services),
  };
  const named = (
    kind: Exclude<keyof PartSources, 'tlsCertificates'>,
    section: string,
    key: string,
    elements: Record<string, unknown> | undefined,
  ): void => {
    if (elements !== undefined && Object.keys(elements).length > 0)
      sources[kind] = record(section, key, elements);
  };
  const { http, tcp, udp, tls } = config;
  named('middlewares', 'http', 'middlewares', http.middlewares);
  named('serversTransports', 'http', 'serversTransports', http.serversTransports);
  named('tcpRouters', 'tcp', 'routers', tcp?.routers);
  named('tcpServices', 'tcp', 'services', tcp?.services);
  named('tcpMiddlewares', 'tcp', 'middlewares', tcp?.middlewares);
  named('tcpServersTransports', 'tcp', 'serversTransports', tcp?.serversTransports);
  named('udpRouters', 'udp', 'routers', udp?.routers);
  named('udpServices', 'udp', 'services', udp?.services);
  named('tlsOptions', 'tls', 'options', tls?.options);
  named('tlsStores', 'tls', 'stores', tls?.stores);
  const certificates = tls?.certificates ?? [];
  if (certificates.length > 0)
    sources.tlsCertificates = certificates.map((_, i) => sourceOf(['tls', 'certificates', String(i)]));
  return sources;
}

function parseError(origin: string, message: string, line: number, column: number): ConfigError {
  return {
    code: ErrorCodes.FILE_PARSE,
    path: '',
    message: `${origin}:${line}:${column}: YAML parse error: ${message}`,
    source: { provider: FILE_PROVIDER, origin, line },
  };
}

/**
 * Offset of the deepest node along `path`, preferring a key's position (the line a user reads the
 * element on). Keys match exactly first, then case-insensitively, as the validator accepts either.
 */
function locate(doc: Document, path: readonly string[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const segment of path) {
    if (isMap(node)) {
      const index = keyIndex(node);
      const pair = index.exact.get(segment) ?? index.folded.get(segment.toLowerCase());
      if (pair === undefined) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      const item: unknown = node.items[Number(segment)];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

type MapPair = YAMLMap<unknown, unknown>['items'][number];
interface KeyIndex {
  exact: Map<string, MapPair>;
  folded: Map<string, MapPair>;
}
const keyIndexes = new WeakMap<YAMLMap<unknown, unknown>, KeyIndex>();

/** Key lookups in a map, built once per map: `locate` runs for every element of the file. */
function keyIndex(map: YAMLMap<unknown, unknown>): KeyIndex {
  let index = keyIndexes.get(map);
  if (index) return index;
  index = { exact: new Map(), folded: new Map() };
  for (const pair of map.items) {
    if (!isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    if (!index.exact.has(key)) index.exact.set(key, pair);
    if (!index.folded.has(key.toLowerCase())) index.folded.set(key.toLowerCase(), pair);
  }
  keyIndexes.set(map, index);
  return index;
}

/** The first key that appears twice in the same map, anywhere in the tree, with its offset. */
function duplicateKey(root: unknown): { key: string; offset: number } | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const key = String(pair.key.value);
          if (seen.has(key)) return { key, offset: rangeStart(pair.key) ?? 0 };
          seen.add(key);
        }
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: readonly number[] | null }).range;
  return range?.[0];
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
