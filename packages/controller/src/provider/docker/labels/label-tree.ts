// Labels → a tree of nodes, as Traefik's paerser builds it: dotted keys, `name[0]` indices,
// segments matched case-insensitively (the first spelling in sorted key order is kept).

/** One segment of the label keys; `value` is set when a label ends here. */
export interface LabelNode {
  name: string;
  value?: string;
  /** The label that set `value`. */
  label?: string;
  /** The first label (in sorted order) under this node, for errors about the node as a whole. */
  firstLabel: string;
  children: LabelNode[];
}

export interface BadKey {
  label: string;
  reason: string;
}

export interface LabelTree {
  /** Children of the prefix: `http`, `tcp`, `udp`, `tls`, `enable`, `docker`, ... */
  root: LabelNode;
  badKeys: BadKey[];
}

/**
 * Reads every label under one of `prefixes` (`traefik`, `berth`). An earlier prefix wins over a
 * later one for the same key; within one prefix, the later key in sorted order wins, as in Traefik.
 */
export function buildLabelTree(
  labels: Readonly<Record<string, string>>,
  prefixes: readonly string[],
): LabelTree {
  const root: LabelNode = { name: '', firstLabel: '', children: [] };
  const badKeys: BadKey[] = [];
  const setByPrefix = new Set<LabelNode>();
  const keys = Object.keys(labels).sort(byCodeUnit);
  for (const prefix of prefixes) {
    const lowerPrefix = `${prefix.toLowerCase()}.`;
    const setHere = new Set<LabelNode>();
    for (const key of keys) {
      if (!key.toLowerCase().startsWith(lowerPrefix)) continue;
      const parts = splitKey(key.slice(lowerPrefix.length));
      if (typeof parts === 'string') {
        badKeys.push({ label: key, reason: parts });
        continue;
      }
      let node = root;
      for (const part of parts) {
        let child = node.children.find((c) => c.name.toLowerCase() === part.toLowerCase());
        if (child === undefined) {
          child = { name: part, firstLabel: key, children: [] };
          node.children.push(child);
        }
        node = child;
      }
      // An earlier prefix set this key: it takes precedence over the same key under this one.
      if (setByPrefix.has(node)) continue;
      node.value = labels[key] ?? '';
      node.label = key;
      setHere.add(node);
    }
    for (const node of setHere) setByPrefix.add(node);
  }
  return { root, badKeys };
}

/** Splits `routers.web.tls.domains[0].main` into segments, or returns why it cannot. */
function splitKey(rest: string): string[] | string {
  if (rest === '') return 'the key ends after its prefix';
  const parts: string[] = [];
  for (const segment of rest.split('.')) {
    if (segment === '') return 'the key has an empty segment (two dots in a row, or a dot at the end)';
    if (segment.startsWith('['))
      return `segment "${segment}" starts with '[' (brackets only follow a name, as in domains[0])`;
    const bracket = segment.indexOf('[');
    if (bracket > 0) {
      const index = /^\[(\d{1,4})\]$/.exec(segment.slice(bracket));
      if (index === null) return `segment "${segment}" has a malformed index (expected name[0])`;
      parts.push(segment.slice(0, bracket), `[${Number(index[1])}]`);
    } else if (segment.includes(']')) {
      return `segment "${segment}" has a stray ']'`;
    } else {
      parts.push(segment);
    }
  }
  return parts;
}

/** Go's sort.Strings order (bytes); for the ASCII of label keys the same as UTF-16 code units. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The child of `node` named `name`, case-insensitively. */
export function childNode(node: LabelNode | undefined, name: string): LabelNode | undefined {
  const lower = name.toLowerCase();
  return node?.children.find((c) => c.name.toLowerCase() === lower);
}
