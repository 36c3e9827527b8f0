// Lines of mapping keys in plain block-style YAML, found in one pass over the text; null for anything it is not sure about.

/** One block mapping: its keys, exact and (built on first need) case-folded; the first one wins, as the validator reads them. */
export interface KeyLineMap {
  exact: Map<string, KeyLine>;
  folded?: Map<string, KeyLine>;
}

export interface KeyLine {
  /** 1-based, as `LineCounter.linePos` counts. */
  line: number;
  /** The key's value when it is a block mapping written on the following lines. */
  children?: KeyLineMap;
}

// Sticky and multi-line: matched in place at a line's first character, `$` being its end.
const PLAIN_KEY = /([A-Za-z_][A-Za-z0-9_.@/-]*):(?:[ ]+|$)/my;
const DOUBLE_QUOTED_KEY = /"([^"\\\n]*)":(?:[ ]+|$)/my;
const SINGLE_QUOTED_KEY = /'([^'\n]*)':(?:[ ]+|$)/my;
/** A plain key YAML's core schema reads as something other than a string. */
const NON_STRING_KEY = /^(?:null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;
/** Where an anchor, alias or tag could start a node: after the indentation, a `- `, a `: ` or inside a flow collection. */
const NODE_PROPERTY = /(?:^[ ]*(?:-[ ]+)*|:[ ]+|[[{,][ ]*)[&*!]/;

/** `?` explicit keys, `%` directives, `@` and `` ` `` reserved, `|` `>` block scalars without a key. */
const LINE_START_REFUSED = new Set([63, 37, 64, 96, 124, 62]);

const newMap = (): KeyLineMap => ({ exact: new Map() });

interface Frame {
  /** Indentation of this mapping's keys; -1 until its first key is seen. */
  indent: number;
  map: KeyLineMap;
}

/**
 * The key lines of `text` when it is written in the plain block style configuration files use
 * (`key: value`, `key:` with a nested mapping or a `- ` sequence, block scalars, comments), and
 * null for anything else: flow collections over several lines, multi-line plain or quoted
 * scalars, anchors, aliases, tags, merge keys, explicit keys, directives, several documents, tabs.
 * Null only means "ask the full YAML library"; it is never wrong about a file it accepts.
 */
export function indexKeyLines(text: string): KeyLineMap | null {
  if (text.includes('\t') || text.includes('<<') || text.includes('\r')) return null;
  const root: Frame = { indent: -1, map: newMap() };
  const stack: Frame[] = [root];
  /** Lines indented deeper than this belong to a block scalar or a sequence and are skipped. */
  let skipDeeperThan = -1;
  /** The sequence being skipped may also have `- ` items at its key's own indentation. */
  let sequenceAt = -1;
  /** A key with nothing after its colon: its value starts on a later line. */
  let open: { indent: number; entry: KeyLine } | null = null;
  /** A key with a one-line scalar: a deeper line after it would continue the scalar. */
  let scalarAt = -1;
  let sawContent = false;

  // Offsets, not split lines: a 10,000-route file has 80,000 lines, and substrings of each cost more than the parse.
  let lineNumber = 0;
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    const lineStart = start;
    start = end + 1;
    lineNumber++;
    let at = lineStart;
    while (at < end && text.charCodeAt(at) === 32) at++;
    if (at === end || text.charCodeAt(at) === 35 /* # */) continue;
    const indent = at - lineStart;
    const first = text.charCodeAt(at);
    const isItem = first === 45 /* - */ && (at + 1 === end || text.charCodeAt(at + 1) === 32);
    const special =
      hasNodePropertyChar(text, lineStart, end) && NODE_PROPERTY.test(text.slice(lineStart, end));

    if (scalarAt >= 0) {
      if (indent > scalarAt) return null;
      scalarAt = -1;
    }
    if (skipDeeperThan >= 0) {
      if (indent > skipDeeperThan) {
        if (special && sequenceAt >= 0) return null;
        continue;
      }
      if (indent === sequenceAt && isItem) {
        if (special) return null;
        continue;
      }
      skipDeeperThan = -1;
      sequenceAt = -1;
    }

    if (!sawContent) {
      sawContent = true;
      if (indent === 0 && end - at === 3 && text.startsWith('---', at)) continue;
    }
    if (text.startsWith('---', at) || text.startsWith('...', at) || LINE_START_REFUSED.has(first))
      return null;
    if (special) return null;

    if (isItem) {
      // A sequence is only accepted as the value of a key that had nothing after its colon.
      if (open === null || indent < open.indent) return null;
      skipDeeperThan = indent;
      sequenceAt = indent;
      open = null;
      continue;
    }

    const keyPattern = first === 34 ? DOUBLE_QUOTED_KEY : first === 39 ? SINGLE_QUOTED_KEY : PLAIN_KEY;
    keyPattern.lastIndex = at;
    const match = keyPattern.exec(text);
    if (match === null) return null;
    const key = match[1] as string;
    if (match[0].startsWith(key) && NON_STRING_KEY.test(key)) return null;

    // Find the mapping this key belongs to by its indentation.
    if (open !== null) {
      if (indent > open.indent) {
        const children = newMap();
        open.entry.children = children;
        stack.push({ indent, map: children });
      }
      open = null;
    }
    let frame = stack[stack.length - 1] as Frame;
    while (frame.indent > indent && stack.length > 1) {
      stack.pop();
      frame = stack[stack.length - 1] as Frame;
    }
    if (frame.indent === -1) frame.indent = indent;
    if (frame.indent !== indent) return null;

    const entry: KeyLine = { line: lineNumber };
    if (!frame.map.exact.has(key)) frame.map.exact.set(key, entry);

    const value = stripComment(text.slice(at + match[0].length, end));
    if (value === '') {
      open = { indent, entry };
    } else if (value.startsWith('|') || value.startsWith('>')) {
      skipDeeperThan = indent;
    } else if (singleLineScalar(value)) {
      scalarAt = indent;
    } else {
      return null;
    }
  }
  return root.map;
}

/** Whether the line holds `&`, `*` or `!` at all: most lines do not, and then need no regular expression. */
function hasNodePropertyChar(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 38 || c === 42 || c === 33) return true;
  }
  return false;
}

/** The value without a trailing ` # comment` (only outside quotes, which `singleLineScalar` checks). */
function stripComment(value: string): string {
  if (value.startsWith('#')) return '';
  if (value.startsWith('"') || value.startsWith("'")) return value.trimEnd();
  const hash = value.indexOf(' #');
  return (hash < 0 ? value : value.slice(0, hash)).trimEnd();
}

/** A value that ends on its own line and means the same to every YAML 1.2 reader. */
function singleLineScalar(value: string): boolean {
  const first = value[0];
  if (first === '"') return value.length > 1 && value.endsWith('"') && !value.endsWith('\\"');
  if (first === "'") return value.length > 1 && value.endsWith("'");
  if (first === '{') return value.endsWith('}');
  if (first === '[') return value.endsWith(']');
  if (first === '-' && (value === '-' || value.startsWith('- '))) return false;
  if (/^[?:,\]}#&*!|>'"%@`]/.test(value)) return false;
  return !value.includes(': ') && !value.endsWith(':');
}

/** The line of the deepest key along `path`; `complete` says whether every segment was found. */
export function keyLine(index: KeyLineMap, path: readonly string[]): { line?: number; complete: boolean } {
  let map: KeyLineMap | undefined = index;
  let line: number | undefined;
  for (const segment of path) {
    const entry: KeyLine | undefined =
      map === undefined ? undefined : (map.exact.get(segment) ?? foldedOf(map).get(segment.toLowerCase()));
    if (entry === undefined) return line === undefined ? { complete: false } : { line, complete: false };
    line = entry.line;
    map = entry.children;
  }
  return line === undefined ? { complete: false } : { line, complete: true };
}

function foldedOf(map: KeyLineMap): Map<string, KeyLine> {
  if (map.folded !== undefined) return map.folded;
  const folded = new Map<string, KeyLine>();
  // In file order, so the first spelling wins as in the exact map.
  for (const [key, entry] of map.exact)
    if (!folded.has(key.toLowerCase())) folded.set(key.toLowerCase(), entry);
  map.folded = folded;
  return folded;
}
