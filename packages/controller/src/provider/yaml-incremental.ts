// Re-reads a big YAML file in proportion to what changed: entries whose text is unchanged keep their parsed and validated objects.
import { type Source, type ValidationMemo, validateDynamic } from '@berth/config';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { LineCounter, parseDocument } from 'yaml';
import { isTemplate, type TemplateEnv } from './template/file-template.js';
import {
  documentSources,
  FILE_PROVIDER,
  type ParsedFile,
  parseConfigFile,
  type SourcesRecord,
  validatedSources,
} from './yaml-config-file.js';
import { indexKeyLines, type KeyLineMap, keyLine } from './yaml-key-lines.js';

/** One entry's text parsed on its own: `{ key: value }`; the lines of its keys, counted from 1 in the chunk, on first need. */
interface ChunkParse {
  key: string;
  value: unknown;
  index?: KeyLineMap | null;
}

/** A chunk where it sits in this reading of the file. */
interface PlacedChunk {
  start: number;
  end: number;
  /** Line of the chunk's first line in the file, 1-based. */
  firstLine: number;
  parse: ChunkParse;
}

interface SectionLayout {
  line: number;
  /** A section whose value is not a mapping of block entries (a sequence, a scalar, `{}`): one chunk. */
  opaque?: PlacedChunk;
  entries?: Map<string, PlacedChunk>;
}

interface RootLayout {
  line: number;
  sections: Map<string, SectionLayout>;
}

/** The last reading that parsed incrementally: its text and its chunks in text order. */
interface Reading {
  text: string;
  chunks: PlacedChunk[];
}

interface SectionMemo {
  parses: ChunkParse[];
  value: Record<string, unknown>;
  lines: number[];
  sources: { elements: object; record: Record<string, Source> } | undefined;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** More changed chunks than this and the whole text goes through js-yaml at once (a cold start, a rewrite). */
const BULK_PARSE_AT = 64;

/** Raw chunk texts and where they start, found by `splitEntries`; null for any shape it does not handle. */
interface Split {
  roots: Array<{
    key: string;
    line: number;
    sections: Array<{ key: string; line: number; opaque?: RawChunk; entries?: RawChunk[] }>;
  }>;
}
interface RawChunk {
  start: number;
  end: number;
  firstLine: number;
}

/** A root or section key alone on its line: `http:`, `  routers:`. */
const BARE_KEY = /^([A-Za-z_][A-Za-z0-9_]*):[ ]*$/;

/**
 * Reads successive versions of one file. The text is cut at its entries (`http.routers.web`, `tls.options.x`,
 * each section whose value is not a mapping of entries as a whole); an entry whose text is the same
 * as in the previous reading keeps its parsed object, and through the validation memo its
 * validated object, so a one-route edit parses and validates one route and later stages (compile,
 * the store's serialisation cache) recognise the rest by identity. The result equals
 * `parseConfigFile(text, origin)` exactly; any text outside the plain block shape this understands
 * (or that a chunk's parse refuses) goes through `parseConfigFile` whole.
 */
export class IncrementalYamlFile {
  private last: Reading | null = null;
  private readonly memo: ValidationMemo = new WeakMap();
  /**
   * Per section (`http\0routers`), the raw mapping last built, from which chunk parses and at
   * which lines, and the sources record made for its validated elements: a section none of whose
   * entries changed is handed over as the same objects, so validation, sources and qualification
   * take it whole.
   */
  private sections = new Map<string, SectionMemo>();

  constructor(
    private readonly origin: string,
    private readonly env?: TemplateEnv,
  ) {}

  parse(text: string): ParsedFile {
    // A template renders whole (its text and lines move with the environment): no reuse.
    if (isTemplate(text))
      return parseConfigFile(text, this.origin, this.env === undefined ? {} : { env: this.env });
    const incremental = this.parseIncrementally(text);
    if (incremental !== null) return incremental;
    // The chunks of the last good reading stay: fixing a broken file reuses them.
    return parseConfigFile(text, this.origin);
  }

  private parseIncrementally(text: string): ParsedFile | null {
    const split = splitEntries(text);
    if (split === null) return null;
    const reused = reuseChunks(this.last, text, split);
    if (reused === null) return null;
    const { placed, chunks } = reused;
    const origin = this.origin;

    const raw: Record<string, unknown> = {};
    const roots = new Map<string, RootLayout>();
    const nextSections = new Map<string, SectionMemo>();
    let next = 0;
    for (const root of split.roots) {
      if (roots.has(root.key)) return null; // a duplicate key: the full path reports it
      const sections = new Map<string, SectionLayout>();
      roots.set(root.key, { line: root.line, sections });
      let rootValue: Record<string, unknown> | null = null;
      for (const section of root.sections) {
        if (sections.has(section.key)) return null;
        rootValue ??= {};
        if (section.opaque !== undefined) {
          const chunk = placed[next++] as PlacedChunk;
          if (chunk.parse.key !== section.key) return null;
          sections.set(section.key, { line: section.line, opaque: chunk });
          rootValue[section.key] = chunk.parse.value;
          continue;
        }
        const entries = new Map<string, PlacedChunk>();
        let value: Record<string, unknown> = {};
        const parses: ChunkParse[] = [];
        const lines: number[] = [];
        for (let i = 0; i < (section.entries?.length ?? 0); i++) {
          const chunk = placed[next++] as PlacedChunk;
          if (entries.has(chunk.parse.key)) return null;
          entries.set(chunk.parse.key, chunk);
          value[chunk.parse.key] = chunk.parse.value;
          parses.push(chunk.parse);
          lines.push(chunk.firstLine);
        }
        sections.set(section.key, { line: section.line, entries });
        const memoKey = `${root.key}\u0000${section.key}`;
        const before = this.sections.get(memoKey);
        const same = before !== undefined && sameItems(before.parses, parses);
        if (same) value = before.value;
        const linesKept = same && sameItems(before.lines, lines);
        nextSections.set(memoKey, {
          parses,
          value,
          lines,
          sources: linesKept ? before.sources : undefined,
        });
        // `routers:` with nothing under it reads as null, as YAML has it.
        rootValue[section.key] = entries.size === 0 ? null : value;
      }
      raw[root.key] = rootValue;
    }
    this.last = { text, chunks };
    this.sections = nextSections;

    let fullSourceOf: ((path: string[]) => Source) | null = null;
    const full = (path: string[]): Source => {
      fullSourceOf ??= wholeFileSources(text, origin);
      return fullSourceOf(path);
    };
    const at = (line: number): Source => ({ provider: FILE_PROVIDER, origin, line });
    const inChunk = (chunk: PlacedChunk, path: string[]): Source => {
      const chunkText = text.slice(chunk.start, chunk.end);
      if (chunk.parse.index === undefined) chunk.parse.index = indexKeyLines(chunkText);
      const found = chunk.parse.index === null ? { complete: false } : keyLine(chunk.parse.index, path);
      if (found.complete && found.line !== undefined) return at(found.line + chunk.firstLine - 1);
      // A path to a key that is not there (an error's) or into a sequence: the chunk's document model knows.
      const lineCounter = new LineCounter();
      const doc = parseDocument(chunkText, { lineCounter, prettyErrors: false, uniqueKeys: false });
      const source = documentSources(doc, lineCounter, origin)(path);
      return source.line === undefined ? source : at(source.line + chunk.firstLine - 1);
    };
    const sourceOf = (path: string[]): Source => {
      const root = path.length > 0 ? roots.get(path[0] as string) : undefined;
      if (root === undefined) return full(path);
      if (path.length === 1) return at(root.line);
      const section = root.sections.get(path[1] as string);
      if (section === undefined) return full(path);
      if (section.opaque !== undefined) return inChunk(section.opaque, path.slice(1));
      if (path.length === 2) return at(section.line);
      const entry = section.entries?.get(path[2] as string);
      if (entry === undefined) return full(path);
      // The entry's own key is its chunk's first line.
      if (path.length === 3) return at(entry.firstLine);
      return inChunk(entry, path.slice(2));
    };
    const { config, errors } = validateDynamic(raw, { sourceOf, memo: this.memo });
    // A section whose entries and their lines are all as before, and validated to the same
    // elements, has the same sources: the record made last time is handed over again.
    const reuse: SourcesRecord = (section, key, elements, build) => {
      const memo = nextSections.get(`${section}\u0000${key}`);
      if (memo === undefined) return build();
      if (memo.sources !== undefined && memo.sources.elements === elements) return memo.sources.record;
      const record = build();
      memo.sources = { elements, record };
      return record;
    };
    return { kind: 'ok', config, errors, sources: validatedSources(config, sourceOf, reuse) };
  }
}

/**
 * Each chunk of `split` with its parse: the last reading's where the text around it is unchanged
 * (its common prefix and suffix with this one), parsed anew otherwise, one by one when few changed
 * and as one document when many did. Null when a chunk does not parse on its own.
 */
function reuseChunks(
  last: Reading | null,
  text: string,
  split: Split,
): { placed: PlacedChunk[]; chunks: PlacedChunk[] } | null {
  const raws: RawChunk[] = [];
  for (const root of split.roots)
    for (const section of root.sections) {
      if (section.opaque !== undefined) raws.push(section.opaque);
      else for (const entry of section.entries ?? []) raws.push(entry);
    }
  const before = last?.text ?? '';
  const prefix = commonPrefix(before, text);
  const suffix = commonSuffix(before, text, Math.min(before.length, text.length) - prefix);
  const shift = text.length - before.length;

  const placed: PlacedChunk[] = [];
  const missing: number[] = [];
  // Chunks in the common prefix have the same index as before; those in the suffix the same index from the end.
  const fromEnd = (last?.chunks.length ?? 0) - raws.length;
  /** The old chunks between the common prefix and suffix, by text: edits far apart leave many there. */
  let middle: Map<string, ChunkParse> | null = null;
  for (const [i, raw] of raws.entries()) {
    let parse: ChunkParse | undefined;
    if (last !== null) {
      const inPrefix = raw.end <= prefix;
      const inSuffix = !inPrefix && raw.start >= text.length - suffix;
      const old = inPrefix ? last.chunks[i] : inSuffix ? last.chunks[i + fromEnd] : undefined;
      const from = inPrefix ? raw.start : raw.start - shift;
      if (old !== undefined && old.start === from && old.end - old.start === raw.end - raw.start)
        parse = old.parse;
      if (parse === undefined) {
        middle ??= middleChunks(last, prefix, before.length - suffix);
        parse = middle.get(text.slice(raw.start, raw.end));
      }
    }
    if (parse === undefined) missing.push(placed.length);
    placed.push({ start: raw.start, end: raw.end, firstLine: raw.firstLine, parse: parse as ChunkParse });
  }

  const whole = missing.length > BULK_PARSE_AT ? parseWhole(text, split) : null;
  if (whole !== null) {
    for (const i of missing) (placed[i] as PlacedChunk).parse = whole[i] as ChunkParse;
  } else {
    for (const i of missing) {
      const chunk = placed[i] as PlacedChunk;
      const parse = parseChunk(text.slice(chunk.start, chunk.end));
      if (parse === null) return null;
      chunk.parse = parse;
    }
  }
  return { placed, chunks: placed };
}

/** Compared a block at a time (a comparison of two strings is a memcmp), then character by character. */
const BLOCK = 4096;

function commonPrefix(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let n = 0;
  while (n + BLOCK <= limit && a.slice(n, n + BLOCK) === b.slice(n, n + BLOCK)) n += BLOCK;
  while (n < limit && a.charCodeAt(n) === b.charCodeAt(n)) n++;
  return n;
}

/** At most `limit` characters, so prefix and suffix never overlap. */
function commonSuffix(a: string, b: string, limit: number): number {
  let n = 0;
  while (
    n + BLOCK <= limit &&
    a.slice(a.length - n - BLOCK, a.length - n) === b.slice(b.length - n - BLOCK, b.length - n)
  )
    n += BLOCK;
  while (n < limit && a.charCodeAt(a.length - 1 - n) === b.charCodeAt(b.length - 1 - n)) n++;
  return n;
}

function middleChunks(last: Reading, from: number, to: number): Map<string, ChunkParse> {
  const out = new Map<string, ChunkParse>();
  for (const chunk of last.chunks)
    if (chunk.end > from && chunk.start < to) out.set(last.text.slice(chunk.start, chunk.end), chunk.parse);
  return out;
}

/**
 * Every chunk's parse from one js-yaml run over the whole text, under the fast path's condition
 * (the key-line index accepts the text); null when the names found do not match the document's.
 */
function parseWhole(text: string, split: Split): ChunkParse[] | null {
  if (indexKeyLines(text) === null) return null;
  let loaded: unknown;
  try {
    loaded = loadYaml(text, { schema: CORE_SCHEMA });
  } catch {
    return null;
  }
  if (!isMapping(loaded)) return null;
  const out: ChunkParse[] = [];
  for (const root of split.roots) {
    if (root.sections.length === 0) continue;
    const rootValue = loaded[root.key];
    if (!isMapping(rootValue)) return null;
    for (const section of root.sections) {
      const value = rootValue[section.key];
      if (section.opaque !== undefined) {
        out.push({ key: section.key, value });
        continue;
      }
      const entries = section.entries ?? [];
      if (entries.length === 0) continue;
      if (!isMapping(value)) return null;
      const names = Object.keys(value);
      if (names.length !== entries.length) return null;
      for (const [i, entry] of entries.entries()) {
        const name = keyOf(text, entry.start + indentOf(text, entry.start), entry.end);
        if (name === null || name !== names[i]) return null;
        out.push({ key: name, value: value[name] });
      }
    }
  }
  return out;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function indentOf(text: string, at: number): number {
  let i = at;
  while (text.charCodeAt(i) === 32) i++;
  return i - at;
}

/** Sources as `parseConfigFile`'s fast path finds them on the whole text, for paths outside any chunk. */
function wholeFileSources(text: string, origin: string): (path: string[]) => Source {
  const index = indexKeyLines(text);
  let model: ((path: string[]) => Source) | null = null;
  return (path) => {
    if (index !== null) {
      const found = keyLine(index, path);
      if (found.complete && found.line !== undefined)
        return { provider: FILE_PROVIDER, origin, line: found.line };
    }
    if (model === null) {
      const lineCounter = new LineCounter();
      const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
      model = documentSources(doc, lineCounter, origin);
    }
    return model(path);
  };
}

/** One chunk by js-yaml, if it is in the plain block style (the whole file's fast-path condition, chunk by chunk). */
function parseChunk(text: string): ChunkParse | null {
  const index = indexKeyLines(text);
  if (index === null || index.exact.size !== 1) return null;
  let loaded: unknown;
  try {
    loaded = loadYaml(text, { schema: CORE_SCHEMA });
  } catch {
    return null;
  }
  if (typeof loaded !== 'object' || loaded === null || Array.isArray(loaded)) return null;
  const keys = Object.keys(loaded);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined || key === '__proto__') return null;
  return { key, value: (loaded as Record<string, unknown>)[key], index };
}

/**
 * Cuts `text` into root keys (`http:`), their sections (`routers:`) and the sections' entries, by
 * indentation alone. Blank and comment lines belong to the chunk before them. Anything else at a
 * structural indentation (a document marker, a key with a value on a root line, an indentation
 * between two levels) returns null; what is inside a chunk is checked when the chunk is parsed.
 */
export function splitEntries(text: string): Split | null {
  const roots: Split['roots'] = [];
  type Section = Split['roots'][number]['sections'][number];
  let root: Split['roots'][number] | null = null;
  let section: Section | null = null;
  /** Indentation of section keys under the current root, and of entries in the current section; -1 until seen. */
  let sectionIndent = -1;
  let entryIndent = -1;
  let chunk: RawChunk | null = null;
  let lineNumber = 0;
  let sawContent = false;
  /** Offset of the current section's key line. */
  let sectionStart = 0;
  const close = (at: number) => {
    if (chunk !== null) chunk.end = at;
    chunk = null;
  };

  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    const lineStart = start;
    start = newline < 0 ? text.length : newline + 1;
    lineNumber++;
    let at = lineStart;
    while (at < end && text.charCodeAt(at) === 32) at++;
    if (at === end || text.charCodeAt(at) === 35 /* # */) continue;
    const indent = at - lineStart;
    if (!sawContent) {
      sawContent = true;
      if (indent === 0 && end - at === 3 && text.startsWith('---', at)) continue;
    }

    if (section !== null) {
      if (section.opaque !== undefined) {
        // An opaque section runs to the next line at or left of its key, `- ` items at its indentation included.
        const item = text.charCodeAt(at) === 45 && (at + 1 === end || text.charCodeAt(at + 1) === 32);
        if (indent > sectionIndent || (indent === sectionIndent && item)) continue;
      } else {
        if (entryIndent === -1 && indent > sectionIndent) {
          entryIndent = indent;
          if (keyOf(text, at, end) === null) {
            // Not entries (a sequence, most likely): the whole section is one chunk, from its key line on.
            delete section.entries;
            section.opaque = { start: sectionStart, end: -1, firstLine: section.line };
            chunk = section.opaque;
            continue;
          }
        }
        if (entryIndent !== -1 && indent > entryIndent) continue;
        if (indent === entryIndent) {
          if (keyOf(text, at, end) === null) return null;
          close(lineStart);
          chunk = { start: lineStart, end: -1, firstLine: lineNumber };
          section.entries?.push(chunk);
          continue;
        }
        if (indent > sectionIndent) return null; // between a section's key and its entries
      }
      // The section ends here.
      close(lineStart);
      section = null;
      entryIndent = -1;
    }

    if (root !== null && indent > 0) {
      if (sectionIndent === -1) sectionIndent = indent;
      if (indent !== sectionIndent) return null;
      const match = BARE_KEY.exec(text.slice(at, end));
      if (match !== null) {
        section = { key: match[1] as string, line: lineNumber, entries: [] };
        sectionStart = lineStart;
      } else {
        // `key: value` on the section's line: the section is one chunk of one line or more.
        const key = keyOf(text, at, end);
        if (key === null) return null;
        section = { key, line: lineNumber };
        section.opaque = { start: lineStart, end: -1, firstLine: lineNumber };
        chunk = section.opaque;
      }
      root.sections.push(section);
      continue;
    }

    if (indent !== 0) return null;
    const match = BARE_KEY.exec(text.slice(at, end));
    if (match === null) return null;
    root = { key: match[1] as string, line: lineNumber, sections: [] };
    roots.push(root);
    sectionIndent = -1;
  }
  close(text.length);
  return roots.length === 0 ? null : { roots };
}
// Sticky and multi-line, matched at a line's first character as in yaml-key-lines.ts.
const ENTRY_KEY = /([A-Za-z_][A-Za-z0-9_.@/-]*|"[^"\\\n]*"|'[^'\n]*'):(?:[ ]+|$)/my;

/** The key a line starts with (a plain or quoted key and `:`), or null; what follows is the chunk parser's business. */
function keyOf(text: string, at: number, _end: number): string | null {
  ENTRY_KEY.lastIndex = at;
  const match = ENTRY_KEY.exec(text);
  if (match === null) return null;
  const key = match[1] as string;
  return key.startsWith('"') || key.startsWith("'") ? key.slice(1, -1) : key;
}
