// The label tree → plain data shaped like a dynamic configuration file, for @berth/config's validator,
// plus where each path came from, so every validation error can name its label.
import type { LabelNode } from './label-tree.js';

/** Raw path (keys as spelled, array indices as strings) → the label it came from. */
export type LabelSources = Map<string, string>;

export function pathKey(path: readonly string[]): string {
  return path.map((p) => p.toLowerCase()).join('\u0000');
}

/** Traefik's `allowEmpty` structs: `sticky=true` means "on, with defaults"; any other value turns them off. */
const ALLOW_EMPTY = new Set([
  'sticky',
  'cookie',
  'healthcheck',
  'proxyprotocol',
  'ipstrategy',
  'tls',
  'compress',
  'contenttype',
]);

/** Maps whose entries may be empty on purpose (an empty header value removes the header in Traefik). */
const HEADER_MAPS = new Set(['customrequestheaders', 'customresponseheaders', 'sslproxyheaders', 'headers']);

/**
 * Converts one node. Leaves stay strings: the validator reads numbers, booleans, durations and
 * comma-separated lists from strings, as labels carry nothing else. Returns undefined for nothing.
 */
export function nodeToRaw(
  node: LabelNode,
  path: readonly string[],
  parentName: string,
  sources: LabelSources,
): unknown {
  sources.set(pathKey(path), node.label ?? node.firstLabel);
  const lower = node.name.toLowerCase();
  const inHeaderMap = HEADER_MAPS.has(parentName.toLowerCase());
  const allowEmpty = !inHeaderMap && ALLOW_EMPTY.has(lower) && parentName.toLowerCase() !== 'server';
  if (node.children.length === 0) {
    const value = node.value ?? '';
    if (inHeaderMap) return value;
    if (allowEmpty) return value.trim().toLowerCase() === 'true' ? {} : undefined;
    return value === '' ? undefined : value;
  }
  if (
    allowEmpty &&
    node.value !== undefined &&
    node.value !== '' &&
    node.value.trim().toLowerCase() !== 'true'
  ) {
    return undefined;
  }
  const indexed = node.children.every((c) => /^\[\d+\]$/.test(c.name));
  if (indexed) {
    const items = [...node.children].sort((a, b) => indexOf(a) - indexOf(b));
    const list: unknown[] = [];
    for (const child of items) {
      const value = nodeToRaw(child, [...path, String(list.length)], node.name, sources);
      if (value !== undefined) list.push(value);
    }
    return list;
  }
  const out: Record<string, unknown> = {};
  for (const child of node.children) {
    const value = nodeToRaw(child, [...path, child.name], node.name, sources);
    if (value !== undefined)
      Object.defineProperty(out, child.name, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function indexOf(node: LabelNode): number {
  return Number(node.name.slice(1, -1));
}

/** Looks up a key case-insensitively; returns the key as spelled, or undefined. */
export function keyOf(obj: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

export function getCI(obj: Readonly<Record<string, unknown>> | undefined, name: string): unknown {
  if (obj === undefined) return undefined;
  const key = keyOf(obj, name);
  return key === undefined ? undefined : obj[key];
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The mapping under `name`, created (with that spelling) when absent or not a mapping. */
export function ensureObject(obj: Record<string, unknown>, name: string): Record<string, unknown> {
  const key = keyOf(obj, name) ?? name;
  const current = obj[key];
  if (isObject(current)) return current;
  const fresh: Record<string, unknown> = {};
  Object.defineProperty(obj, key, { value: fresh, enumerable: true, writable: true, configurable: true });
  return fresh;
}

export function setCI(obj: Record<string, unknown>, name: string, value: unknown): void {
  const key = keyOf(obj, name) ?? name;
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export function deleteCI(obj: Record<string, unknown>, name: string): void {
  const key = keyOf(obj, name);
  if (key !== undefined) delete obj[key];
}
