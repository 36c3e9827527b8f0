// A tiny Prometheus registry: counters, gauges and fixed-bucket histograms with labels, exposed as text format 0.0.4.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Latency buckets in seconds, Prometheus client defaults. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** `{a="x",b="y"}`, or '' without labels: rendered once per child, never per request. */
function renderLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  return `{${names.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? '')}"`).join(',')}}`;
}

abstract class Family<C> {
  readonly #children = new Map<string, C>();
  readonly #order: { labels: string; child: C }[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) {
        throw new Error(`invalid label name ${JSON.stringify(label)} on ${name}`);
      }
    }
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected abstract create(): C;

  /** The series for these label values, created on first use. Keep the result to avoid lookups. */
  labels(...values: string[]): C {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name} takes ${this.labelNames.length} label values, got ${values.length}`);
    }
    const key = values.join('\u0000');
    let child = this.#children.get(key);
    if (child === undefined) {
      child = this.create();
      this.#children.set(key, child);
      this.#order.push({ labels: renderLabels(this.labelNames, values), child });
    }
    return child;
  }

  /** Forgets one series, so label values that no longer exist stop being exposed. */
  remove(...values: string[]): void {
    const key = values.join('\u0000');
    const child = this.#children.get(key);
    if (child === undefined) return;
    this.#children.delete(key);
    const i = this.#order.findIndex((s) => s.child === child);
    if (i >= 0) this.#order.splice(i, 1);
  }

  /** Forgets every series (for gauges rebuilt at each scrape). */
  reset(): void {
    this.#children.clear();
    this.#order.length = 0;
  }

  protected get series(): readonly { labels: string; child: C }[] {
    return this.#order;
  }

  expose(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    this.exposeSeries(out);
  }

  protected abstract exposeSeries(out: string[]): void;
}

export class CounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class Counter extends Family<CounterChild> {
  readonly type = 'counter';
  protected create(): CounterChild {
    return new CounterChild();
  }
  protected exposeSeries(out: string[]): void {
    for (const { labels, child } of this.series)
      out.push(`${this.name}${labels} ${formatValue(child.value)}`);
  }
}

export class GaugeChild {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

export class Gauge extends Family<GaugeChild> {
  readonly type = 'gauge';
  protected create(): GaugeChild {
    return new GaugeChild();
  }
  protected exposeSeries(out: string[]): void {
    for (const { labels, child } of this.series)
      out.push(`${this.name}${labels} ${formatValue(child.value)}`);
  }
}

export class HistogramChild {
  /** Per bucket, not cumulative; the last slot counts observations above every bound. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

export class Histogram extends Family<HistogramChild> {
  readonly type = 'histogram';
  readonly #bounds: readonly number[];
  readonly #le: readonly string[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    if (labelNames.includes('le')) throw new Error(`histogram ${name} cannot have a label "le"`);
    const sorted = [...new Set(buckets)].filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
    if (sorted.length === 0) throw new Error(`histogram ${name} needs at least one finite bucket`);
    this.#bounds = sorted;
    this.#le = [...sorted.map(formatValue), '+Inf'];
  }

  protected create(): HistogramChild {
    return new HistogramChild(this.#bounds);
  }

  protected exposeSeries(out: string[]): void {
    for (const { labels, child } of this.series) {
      // `le` joins the child's labels: `{a="x"}` becomes `{a="x",le="0.1"}`.
      const open = labels === '' ? '{' : `${labels.slice(0, -1)},`;
      let cumulative = 0;
      for (let i = 0; i < this.#le.length; i++) {
        cumulative += child.counts[i] as number;
        out.push(`${this.name}_bucket${open}le="${this.#le[i]}"} ${cumulative}`);
      }
      out.push(`${this.name}_sum${labels} ${formatValue(child.sum)}`);
      out.push(`${this.name}_count${labels} ${child.count}`);
    }
  }
}

type AnyFamily = Counter | Gauge | Histogram;

export class MetricsRegistry {
  readonly #families = new Map<string, AnyFamily>();
  readonly #collectors: (() => void)[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#add(new Gauge(name, help, labelNames));
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ): Histogram {
    return this.#add(new Histogram(name, help, labelNames, buckets));
  }

  /** Runs before each exposition, for values cheaper to read at scrape time than to track. */
  onCollect(collect: () => void): void {
    this.#collectors.push(collect);
  }

  /** The text exposition format 0.0.4. */
  expose(): string {
    for (const collect of this.#collectors) collect();
    const out: string[] = [];
    for (const family of this.#families.values()) family.expose(out);
    return `${out.join('\n')}\n`;
  }

  #add<F extends AnyFamily>(family: F): F {
    if (this.#families.has(family.name)) throw new Error(`metric ${family.name} is already registered`);
    this.#families.set(family.name, family);
    return family;
  }
}

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
