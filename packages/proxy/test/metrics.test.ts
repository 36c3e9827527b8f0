// Tests for the Prometheus registry and its text exposition, checked by parsing the output back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeLabelValue, formatValue, MetricsRegistry } from '../src/observability/metrics.js';
import { parseExposition } from './support/exposition.js';

describe('the metrics registry', () => {
  it('exposes counters and gauges with HELP and TYPE lines and their labels', () => {
    const r = new MetricsRegistry();
    const c = r.counter('app_requests_total', 'Requests.', ['method']);
    c.labels('GET').inc();
    c.labels('GET').inc(2);
    c.labels('POST').inc();
    const g = r.gauge('app_temperature', 'Temperature.');
    g.labels().set(-3.5);
    const parsed = parseExposition(r.expose());
    assert.deepEqual(parsed.get('app_requests_total'), {
      help: 'Requests.',
      type: 'counter',
      samples: [
        { name: 'app_requests_total', labels: { method: 'GET' }, value: 3 },
        { name: 'app_requests_total', labels: { method: 'POST' }, value: 1 },
      ],
    });
    assert.deepEqual(parsed.get('app_temperature')?.samples, [
      { name: 'app_temperature', labels: {}, value: -3.5 },
    ]);
    assert.equal(parsed.get('app_temperature')?.type, 'gauge');
  });

  it('escapes backslashes, quotes and newlines in label values and help text', () => {
    const r = new MetricsRegistry();
    const nasty = 'a\\b"c\nd}e,f="g"';
    r.counter('x_total', 'Help with \\ and\nnewline.', ['v']).labels(nasty).inc();
    const text = r.expose();
    assert.ok(text.includes('# HELP x_total Help with \\\\ and\\nnewline.'));
    assert.equal(text.split('\n').length, 4, 'no raw newline leaks into the output');
    const parsed = parseExposition(text);
    assert.equal(parsed.get('x_total')?.samples[0]?.labels['v'], nasty);
    assert.equal(parsed.get('x_total')?.help, 'Help with \\ and\nnewline.');
    assert.equal(escapeLabelValue('"'), '\\"');
  });

  it('exposes histograms with cumulative buckets ending in +Inf, then _sum and _count', () => {
    const r = new MetricsRegistry();
    const h = r.histogram('lat_seconds', 'Latency.', ['route'], [0.5, 0.1, 1]);
    const child = h.labels('a');
    for (const v of [0.05, 0.1, 0.2, 0.7, 1, 3]) child.observe(v);
    const fam = parseExposition(r.expose()).get('lat_seconds');
    assert.equal(fam?.type, 'histogram');
    const buckets = fam?.samples.filter((s) => s.name === 'lat_seconds_bucket') ?? [];
    assert.deepEqual(
      buckets.map((b) => [b.labels['route'], b.labels['le'], b.value]),
      [
        ['a', '0.1', 2],
        ['a', '0.5', 3],
        ['a', '1', 5],
        ['a', '+Inf', 6],
      ],
    );
    const sum = fam?.samples.find((s) => s.name === 'lat_seconds_sum');
    const count = fam?.samples.find((s) => s.name === 'lat_seconds_count');
    assert.ok(Math.abs((sum?.value ?? 0) - 5.05) < 1e-9);
    assert.equal(count?.value, 6);
    assert.deepEqual(count?.labels, { route: 'a' });
  });

  it('exposes a histogram without labels', () => {
    const r = new MetricsRegistry();
    r.histogram('h', 'H.', [], [1]).labels().observe(2);
    assert.deepEqual(
      parseExposition(r.expose())
        .get('h')
        ?.samples.map((s) => [s.name, s.labels, s.value]),
      [
        ['h_bucket', { le: '1' }, 0],
        ['h_bucket', { le: '+Inf' }, 1],
        ['h_sum', {}, 2],
        ['h_count', {}, 1],
      ],
    );
  });

  it('formats special values as Prometheus does', () => {
    assert.equal(formatValue(Number.POSITIVE_INFINITY), '+Inf');
    assert.equal(formatValue(Number.NEGATIVE_INFINITY), '-Inf');
    assert.equal(formatValue(Number.NaN), 'NaN');
    assert.equal(formatValue(42), '42');
  });

  it('refuses invalid names, duplicate families and the wrong number of label values', () => {
    const r = new MetricsRegistry();
    assert.throws(() => r.counter('1bad', 'x'));
    assert.throws(() => r.counter('ok_total', 'x', ['bad-label']));
    assert.throws(() => r.counter('ok2_total', 'x', ['__reserved']));
    assert.throws(() => r.histogram('h2', 'x', ['le']));
    r.counter('dup_total', 'x');
    assert.throws(() => r.counter('dup_total', 'x'));
    const c = r.counter('two_total', 'x', ['a', 'b']);
    assert.throws(() => c.labels('only-one'));
  });

  it('removes one series and leaves the others', () => {
    const r = new MetricsRegistry();
    const c = r.counter('c_total', 'C.', ['k']);
    c.labels('a').inc();
    c.labels('b').inc(2);
    c.remove('a');
    c.remove('never-there');
    assert.deepEqual(
      parseExposition(r.expose())
        .get('c_total')
        ?.samples.map((s) => [s.labels['k'], s.value]),
      [['b', 2]],
    );
    c.labels('a').inc();
    assert.equal(
      parseExposition(r.expose()).get('c_total')?.samples.at(-1)?.value,
      1,
      'starts again at zero',
    );
  });

  it('runs collectors before each exposition and can rebuild a gauge from scratch', () => {
    const r = new MetricsRegistry();
    const g = r.gauge('up', 'Up.', ['who']);
    let who = ['a', 'b'];
    r.onCollect(() => {
      g.reset();
      for (const w of who) g.labels(w).set(1);
    });
    assert.equal(parseExposition(r.expose()).get('up')?.samples.length, 2);
    who = ['c'];
    assert.deepEqual(parseExposition(r.expose()).get('up')?.samples[0]?.labels, { who: 'c' });
  });
});
