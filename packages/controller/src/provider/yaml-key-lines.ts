// Lines of mapping keys in plain block-style YAML, found in one pass over the text; null for anything it is not sure about.

/** One block mapping: its keys, exact and case-folded (first one wins, as the validator reads them). */
export interface KeyLineMap {
  exact: Map<string, KeyLine>;
  folded: Map<string, KeyLine>;
}

export interface KeyLine {
  /** 1-based, as `LineCounter.linePos` counts. */
  line: number;
  /** The key's value when it is a block mapping written on the following lines. */
  children?: KeyLineMap;
}

const PLAIN_KEY = /^([A-Za-z_][A-Za-z0-9_.@/-]*):(?:[ ]+|$)/;
const DOUBLE_QUOTED_KEY = /^"([^"\\]*)":(?:[ ]+|$)/;
const SINGLE_QUOTED_KEY = /^'([^']*)':(?:[ ]+|$)/;
/** A plain key YAML's core schema reads as something other than a string. */
const NON_STRING_KEY = /^(?:null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;
/** Where an anchor, alias or tag could start a node: after the indentation, a `- `, a `: ` or inside a flow collection. */
const NODE_PROPERTY = /(?:^[ ]*(?:-[ ]+)*|:[ ]+|[[{,][ ]*)[&*!]/;

const newMap = (): KeyLineMap => ({ exact: new Map(), folded: new Map() });

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
  const lines = text.split('\n');
  const root: Frame = { indent: -1, map: newMap() };
  const stack: Frame[] = [root];
  /** Lines indented deeper than this belong to a block scalar or a sequence and are skipped. */
  let skipDeeperThan = -1;
  /** The sequence being skipped may also have `- ` items at its key's own indentation. */
  let sequenceAt = -1;
  /** A key with nothing after its colon: its value starts on a later line. */
  let open: { indent: number; entry: KeyLine } | null = null;
  let sawContent = false;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const body = line.trimStart();
    if (body === '' || body.startsWith('#')) continue;
    const indent = line.length - body.length;

    if (skipDeeperThan >= 0) {
      if (indent > skipDeeperThan) {
        if (NODE_PROPERTY.test(line) && sequenceAt >= 0) return null;
        continue;
      }
      if (indent === sequenceAt && (body === '-' || body.startsWith('- '))) {
        if (NODE_PROPERTY.test(line)) return null;
        continue;
      }
      skipDeeperThan = -1;
      sequenceAt = -1;
    }

    if (!sawContent) {
      sawContent = true;
      if (body === '---' && indent === 0) continue;
    }
    if (body.startsWith('---') || body.startsWith('...') || /^[?%@`|>]/.test(body)) return null;
    if (NODE_PROPERTY.test(line)) return null;

    if (body === '-' || body.startsWith('- ')) {
      // A sequence is only accepted as the value of a key that had nothing after its colon.
      if (open === null || indent < open.indent) return null;
      skipDeeperThan = indent;
      sequenceAt = indent;
      open = null;
      continue;
    }

    const match = PLAIN_KEY.exec(body) ?? DOUBLE_QUOTED_KEY.exec(body) ?? SINGLE_QUOTED_KEY.exec(body);
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

    const entry: KeyLine = { line: i + 1 };
    if (!frame.map.exact.has(key)) frame.map.exact.set(key, entry);
    const folded = key.toLowerCase();
    if (!frame.map.folded.has(folded)) frame.map.folded.set(folded, entry);

    const value = stripComment(body.slice(match[0].length));
    if (value === '') {
      open = { indent, entry };
      continue;
    }
    if (value.startsWith('|') || value.startsWith('>')) {
      skipDeeperThan = indent;
      continue;
    }
    if (!singleLineScalar(value)) return null;
    // Anything deeper on the next lines would continue this scalar: not handled here.
    skipDeeperThan = -1;
    const next = nextContentLine(lines, i + 1);
    if (next !== null && next.indent > indent) return null;
  }
  return root.map;
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

function nextContentLine(lines: readonly string[], from: number): { indent: number } | null {
  for (let i = from; i < lines.length; i++) {
    const line = lines[i] as string;
    const body = line.trimStart();
    if (body === '' || body.startsWith('#')) continue;
    return { indent: line.length - body.length };
  }
  return null;
}

/** The line of the deepest key along `path`; `complete` says whether every segment was found. */
export function keyLine(index: KeyLineMap, path: readonly string[]): { line?: number; complete: boolean } {
  let map: KeyLineMap | undefined = index;
  let line: number | undefined;
  for (const segment of path) {
    const entry: KeyLine | undefined =
      map === undefined ? undefined : (map.exact.get(segment) ?? map.folded.get(segment.toLowerCase()));
    if (entry === undefined) return line === undefined ? { complete: false } : { line, complete: false };
    line = entry.line;
    map = entry.children;
  }
  return line === undefined ? { complete: false } : { line, complete: true };
}
