// Parses Prometheus text exposition back into families, so tests check the format rather than strings.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  help: string;
  type: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('="', i);
    if (eq < 0) throw new Error(`bad labels: ${text}`);
    const name = text.slice(i, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`bad label name: ${name}`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`unterminated label value: ${text}`);
      if (c === '"') break;
      if (c === '\\') {
        const next = text[j + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape in ${text}`);
        j += 2;
        continue;
      }
      if (c === '\n') throw new Error('raw newline in a label value');
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`bad value ${text}`);
  return n;
}

/** Strict: every sample must follow its family's HELP and TYPE lines. */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, Family>();
  let current: { name: string; family: Family } | null = null;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const space = rest.indexOf(' ');
      const name = rest.slice(0, space);
      const help = rest
        .slice(space + 1)
        .replace(/\\n/g, '\n')
        .replace(/\\\\/g, '\\');
      if (families.has(name)) throw new Error(`family ${name} appears twice`);
      current = { name, family: { help, type: '', samples: [] } };
      families.set(name, current.family);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (!current || current.name !== name) throw new Error(`TYPE without HELP for ${name}`);
      current.family.type = type ?? '';
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m || !current) throw new Error(`bad line: ${JSON.stringify(line)}`);
    const name = m[1] as string;
    const base = current.name;
    const allowed =
      current.family.type === 'histogram' ? [`${base}_bucket`, `${base}_sum`, `${base}_count`] : [base];
    if (!allowed.includes(name)) throw new Error(`sample ${name} outside its family ${base}`);
    current.family.samples.push({ name, labels: parseLabels(m[2] ?? ''), value: parseValue(m[3] as string) });
  }
  return families;
}
