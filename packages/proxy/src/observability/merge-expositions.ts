// Joins the Prometheus expositions of a node's worker processes into one, each sample labelled with its worker.
import { escapeLabelValue } from './metrics.js';

interface Family {
  header: string[];
  samples: string[];
}

/** Adds `label="value"` first in a sample line's label set (`name{a="b"} 1` or `name 1`). */
function withLabel(line: string, label: string, value: string): string {
  const pair = `${label}="${escapeLabelValue(value)}"`;
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  if (brace >= 0 && (space < 0 || brace < space)) {
    const rest = line.slice(brace + 1);
    return `${line.slice(0, brace)}{${pair}${rest.startsWith('}') ? '' : ','}${rest}`;
  }
  return space < 0 ? line : `${line.slice(0, space)}{${pair}}${line.slice(space)}`;
}

/**
 * One exposition for the node: each metric family once (its HELP and TYPE from the first worker
 * that has it), with every worker's samples under a `worker` label, so sums over workers are a
 * `sum without (worker)` away and no counter is double-counted.
 */
export function mergeExpositions(parts: readonly { slot: number; text: string }[], label = 'worker'): string {
  const families = new Map<string, Family>();
  for (const { slot, text } of parts) {
    let current: Family | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        const name = meta[2] as string;
        current = families.get(name);
        if (current === undefined) {
          current = { header: [], samples: [] };
          families.set(name, current);
        }
        if (current.header.length < 2 && !current.header.some((h) => h.startsWith(`# ${meta[1]} `))) {
          current.header.push(line);
        }
        continue;
      }
      if (line.startsWith('#')) continue;
      current?.samples.push(withLabel(line, label, String(slot)));
    }
  }
  const out: string[] = [];
  for (const family of families.values()) out.push(...family.header, ...family.samples);
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
