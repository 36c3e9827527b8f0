// Bursts of provider changes become one compile: the debouncer on a stepped clock, then a real controller fed a burst.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type ControllerHandle, startController } from '../src/controller.js';
import { createChangeDebouncer, type DebounceTimers } from '../src/provider/change-debouncer.js';
import { parseDebounce } from '../src/settings/controller-config.js';
import { StaticProvider } from './support/static-provider.js';

/** A clock that moves only when told, with the timers due by then run in order. */
class SteppedClock implements DebounceTimers {
  private time = 0;
  private nextId = 1;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.due.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = [...this.due].sort(([, a], [, b]) => a.at - b.at)[0];
      if (next === undefined || next[1].at > end) break;
      this.due.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }
}

function debouncerOnClock(quietMs = 20, maxWaitMs = 250) {
  const clock = new SteppedClock();
  const fired: { at: number; reasons: string[] }[] = [];
  const debouncer = createChangeDebouncer(
    { quietMs, maxWaitMs },
    (reasons) => fired.push({ at: clock.now(), reasons }),
    clock,
  );
  return { clock, fired, debouncer };
}

describe('the change debouncer', () => {
  it('fires once, quietMs after the last change of a burst, with each reason once', () => {
    const { clock, fired, debouncer } = debouncerOnClock();
    debouncer.trigger('file changed');
    clock.advance(10);
    debouncer.trigger('docker changed');
    clock.advance(10);
    debouncer.trigger('file changed');
    clock.advance(19);
    assert.deepEqual(fired, []);
    assert.equal(debouncer.pending, true);
    clock.advance(1);
    assert.deepEqual(fired, [{ at: 40, reasons: ['file changed', 'docker changed'] }]);
    assert.equal(debouncer.pending, false);
    clock.advance(1000);
    assert.equal(fired.length, 1);
  });

  it('fires no later than maxWaitMs after the first change while changes keep coming', () => {
    const { clock, fired, debouncer } = debouncerOnClock(20, 250);
    for (let t = 0; t < 600; t += 10) {
      debouncer.trigger('docker changed');
      clock.advance(10);
    }
    clock.advance(100);
    // Deadlines 250 ms after each burst's first change (0, then 250, the first after a firing), then quiet after the last (590).
    assert.deepEqual(
      fired.map((f) => f.at),
      [250, 500, 610],
    );
  });

  it('treats a change after a firing as the start of a new burst', () => {
    const { clock, fired, debouncer } = debouncerOnClock();
    debouncer.trigger('a');
    clock.advance(25);
    debouncer.trigger('b');
    clock.advance(25);
    assert.deepEqual(
      fired.map((f) => [f.at, f.reasons]),
      [
        [20, ['a']],
        [45, ['b']],
      ],
    );
  });

  it('fires at once on flush, and not at all after cancel', () => {
    const { clock, fired, debouncer } = debouncerOnClock();
    debouncer.trigger('a');
    debouncer.flush();
    assert.deepEqual(fired, [{ at: 0, reasons: ['a'] }]);
    debouncer.trigger('b');
    debouncer.cancel();
    clock.advance(1000);
    assert.equal(fired.length, 1);
    debouncer.flush();
    assert.equal(fired.length, 1);
  });

  it('with quietMs 0 still gathers the changes of one turn of the event loop', () => {
    const { clock, fired, debouncer } = debouncerOnClock(0, 0);
    for (let i = 0; i < 5; i++) debouncer.trigger('x');
    clock.advance(0);
    assert.deepEqual(fired, [{ at: 0, reasons: ['x'] }]);
  });
});

describe('providers.debounce in the static file', () => {
  it('reads quiet and max as durations', () => {
    assert.deepEqual(parseDebounce({ quiet: '5ms', max: '1s' }, undefined), {
      debounce: { quietMs: 5, maxWaitMs: 1000 },
      errors: [],
    });
  });

  it('keeps the defaults and says why when the setting is unreadable', () => {
    for (const raw of ['20ms', { quiet: 'soon' }, { quiet: '1s', max: '10ms' }, { wait: '1s' }]) {
      const parsed = parseDebounce(raw, undefined);
      assert.deepEqual(parsed.debounce, { quietMs: 20, maxWaitMs: 250 });
      assert.equal(parsed.errors[0]?.code, 'BERTH_PROVIDERS_DEBOUNCE_INVALID', JSON.stringify(raw));
    }
  });
});

const fileWith = (host: string) =>
  `http:
  routers:
    web:
      rule: Host(\`${host}\`)
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9
`;

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
}

describe('a controller fed a burst of provider changes', () => {
  let dir: string;
  let controller: ControllerHandle;
  const extra = new StaticProvider([]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ctl-debounce-'));
    await writeFile(join(dir, 'routes.yml'), fileWith('start.test'));
    controller = await startController({
      dataDir: join(dir, 'data'),
      providerFile: join(dir, 'routes.yml'),
      listen: '127.0.0.1:0',
      api: '127.0.0.1:0',
      logger: pino({ level: 'silent' }),
      providers: [extra],
      // Saves below come every few ms, but a loaded machine may space them wider than the default 20 ms.
      debounce: { quietMs: 60, maxWaitMs: 250 },
    });
  });
  after(async () => {
    await controller?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const rule = () => controller.store.current?.body.http.routers['web@file']?.rule;

  it('publishes far fewer versions than 20 file saves, ending at the last one', async () => {
    const first = controller.store.version;
    const start = performance.now();
    for (let i = 1; i <= 20; i++) {
      // As editors save: a new file renamed into place.
      await writeFile(join(dir, `.routes-${i}.yml`), fileWith(`save-${i}.test`));
      await rename(join(dir, `.routes-${i}.yml`), join(dir, 'routes.yml'));
      await new Promise((r) => setTimeout(r, 5));
    }
    const elapsed = performance.now() - start;
    await eventually(() => rule() === 'Host(`save-20.test`)', 'the last save to be published');
    const published = controller.store.version - first;
    // One version per 250 ms of saving at most (the cap), plus the last.
    const bound = Math.min(10, Math.ceil(elapsed / 250) + 1);
    assert.ok(published >= 1 && published <= bound, `${published} versions for 20 saves in ${elapsed} ms`);
  });

  it('publishes one version for 20 changes of a provider in one burst', async () => {
    const first = controller.store.version;
    for (let i = 1; i <= 20; i++) {
      extra.set([
        {
          sourceKey: 'burst',
          provider: 'docker',
          config: {
            http: {
              routers: { [`r${i}`]: { rule: `Host(\`r${i}.test\`)`, service: 'app@file' } },
              services: {},
            },
          },
          errors: [],
        },
      ]);
    }
    await eventually(
      () => controller.store.current?.body.http.routers['r20@docker'] !== undefined,
      'the burst to be published',
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(controller.store.version - first, 1);
    assert.deepEqual(Object.keys(controller.store.current?.body.http.routers ?? {}).sort(), [
      'r20@docker',
      'web@file',
    ]);
  });
});
