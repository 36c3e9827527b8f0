// Reads systemd unit files the way systemd does for the settings the deploy tests run: sections,
// continuation lines, specifiers, Environment=/EnvironmentFile= and ExecStart= word splitting.
import { readFileSync } from 'node:fs';

/** `[Section]` → its assignments in order (a key may repeat, as ExecStart= or Environment= do). */
export type Unit = Map<string, [key: string, value: string][]>;

export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: [string, string][] | null = null;
  // A line ending in a backslash continues on the next one, joined with a space.
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1] !== undefined) {
      section = [];
      unit.set(header[1], section);
      continue;
    }
    const eq = line.indexOf('=');
    if (section === null || eq < 0) throw new Error(`not a unit file line: ${line}`);
    section.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** Every value of `key` in `section`, in order. */
export function values(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/**
 * Replaces `%X` specifiers with `specifiers[X]` and `%%` with `%`. A specifier the caller did not
 * map is an error, so a unit that starts using a new one is noticed rather than run half-expanded.
 */
export function expandSpecifiers(text: string, specifiers: Record<string, string>): string {
  return text.replace(/%(.)/g, (_, c: string) => {
    if (c === '%') return '%';
    const value = specifiers[c];
    if (value === undefined) throw new Error(`specifier %${c} is not mapped (in: ${text})`);
    return value;
  });
}

/** Splits at unquoted whitespace; double and single quotes group, a backslash escapes one character. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (quote !== null) {
      if (c === quote) quote = null;
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote !== null) throw new Error(`unbalanced quote in: ${text}`);
  if (word !== null) words.push(word);
  return words;
}

/**
 * The service's environment as systemd builds it: Environment= lines in order, then the
 * EnvironmentFile= files (which override them; a `-` path may be missing).
 */
export function serviceEnvironment(unit: Unit, specifiers: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of values(unit, 'Service', 'Environment')) {
    for (const word of splitWords(line)) {
      const assignment = expandSpecifiers(word, specifiers);
      const eq = assignment.indexOf('=');
      if (eq <= 0) throw new Error(`Environment=${line}: '${assignment}' is not NAME=value`);
      env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  for (const line of values(unit, 'Service', 'EnvironmentFile')) {
    const optional = line.startsWith('-');
    const path = expandSpecifiers(optional ? line.slice(1) : line, specifiers);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (optional) continue;
      throw err;
    }
    for (const raw of text.split('\n')) {
      const l = raw.trim();
      if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
      const eq = l.indexOf('=');
      if (eq <= 0) throw new Error(`${path}: '${l}' is not NAME=value`);
      const words = splitWords(l.slice(eq + 1));
      env[l.slice(0, eq).trim()] = words.join(' ');
    }
  }
  return env;
}

/**
 * ExecStart= as the argv systemd would run: split into words, specifiers in each (at load time),
 * then `${NAME}` within a word (exactly one argument) and `$NAME` as a word of its own (split at
 * whitespace: zero or more arguments). Prefixes such as `-` or `+` are refused: the deploy units
 * use none.
 */
export function execStartArgv(
  unit: Unit,
  specifiers: Record<string, string>,
  env: Record<string, string>,
): string[] {
  const lines = values(unit, 'Service', 'ExecStart').filter((v) => v !== '');
  if (lines.length !== 1) throw new Error(`expected one ExecStart=, found ${lines.length}`);
  const line = lines[0] as string;
  if (/^[-@:+!]/.test(line)) throw new Error(`ExecStart= prefixes are not supported here: ${line}`);
  return splitWords(line).flatMap((raw) => {
    const word = expandSpecifiers(raw, specifiers);
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (whole?.[1] !== undefined) return (env[whole[1]] ?? '').split(/\s+/).filter((w) => w !== '');
    return [word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? '')];
  });
}
