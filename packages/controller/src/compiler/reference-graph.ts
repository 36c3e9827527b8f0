// Resolves references between elements of one kind (chains, weighted services): missing targets and cycles.
import { compareStrings } from './merge.js';

/** Why an element cannot be used; `null` when it can. */
export interface Problem {
  code: string;
  message: string;
}

export interface GraphSpec {
  /** Every element that exists (usable or not), sorted. */
  names: readonly string[];
  /** Names this element points at, already qualified by provider (see namespaces.ts). */
  refs: (name: string) => readonly string[];
  /** A problem of the element itself (conflict, missing transport), found without looking at refs. */
  own: (name: string) => Problem | null;
  /** What to say when `name` points at `ref`, which is missing or unusable (`why`, or not defined). */
  missing: (name: string, ref: string, why: Problem | null) => Problem;
  cycle: (members: readonly string[]) => Problem;
}

/**
 * Every element's verdict. An element in a cycle, or pointing at a missing or unusable one, is
 * unusable in turn. Iterative throughout, so a hostile chain thousands deep cannot blow the stack.
 */
export function resolveGraph(spec: GraphSpec): Map<string, Problem | null> {
  const exists = new Set(spec.names);
  const edges = (name: string): readonly string[] => spec.refs(name).filter((ref) => exists.has(ref));
  const verdicts = new Map<string, Problem | null>();
  // Tarjan's order: a component comes out only after every component it reaches, so refs are decided first.
  for (const component of stronglyConnected(spec.names, edges)) {
    const first = component[0]!;
    if (component.length > 1 || edges(first).includes(first)) {
      const members = [...component].sort(compareStrings);
      for (const name of members) verdicts.set(name, spec.own(name) ?? spec.cycle(members));
      continue;
    }
    verdicts.set(first, spec.own(first) ?? firstBadRef(first, spec, exists, verdicts));
  }
  return verdicts;
}

function firstBadRef(
  name: string,
  spec: GraphSpec,
  exists: ReadonlySet<string>,
  verdicts: ReadonlyMap<string, Problem | null>,
): Problem | null {
  for (const ref of spec.refs(name)) {
    if (!exists.has(ref)) return spec.missing(name, ref, null);
    const verdict = verdicts.get(ref) ?? null;
    if (verdict !== null) return spec.missing(name, ref, verdict);
  }
  return null;
}

function stronglyConnected(nodes: readonly string[], next: (node: string) => readonly string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; edges: readonly string[]; at: number }> = [];
    const open = (node: string): void => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, edges: next(node), at: 0 });
    };
    open(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.at < frame.edges.length) {
        const target = frame.edges[frame.at++]!;
        if (!index.has(target)) open(target);
        else if (onStack.has(target)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}
