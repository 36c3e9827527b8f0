// A stand-in worker for WorkerPool tests: speaks the worker IPC messages and misbehaves on request.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { isToWorker, parseWorkerInit, WORKER_INIT_ENV, WORKER_NO_BASE } from '../../src/workers/messages.js';

const init = parseWorkerInit(process.env[WORKER_INIT_ENV]);
const journal = process.env['STAND_IN_JOURNAL'] ?? '';
if (!init || !journal) process.exit(2);
const slot = init.slot;
/** Ignores `berth:stop`, like a worker stuck while draining. */
let deaf = false;

/** Each misbehaviour happens once per journal, so a replacement can catch up. */
function once(what: string): boolean {
  const flag = `${journal}.${what}`;
  if (existsSync(flag)) return false;
  writeFileSync(flag, '');
  return true;
}

process.on('message', (msg: unknown) => {
  if (!isToWorker(msg)) return;
  if (msg.type === 'berth:stop') {
    if (!deaf) process.exit(0);
    return;
  }
  if (msg.type === 'berth:ping') {
    process.send?.({ type: 'berth:pong' });
    return;
  }
  if (msg.type === 'berth:stats') {
    const stats = { at: Date.now(), servers: [], requests: [], openConnections: slot };
    process.send?.({ type: 'berth:stats', seq: msg.seq, stats });
    return;
  }
  if (msg.type === 'berth:metrics') {
    process.send?.({
      type: 'berth:metrics',
      seq: msg.seq,
      text: `# TYPE stand_in counter\nstand_in ${slot}\n`,
    });
    return;
  }
  if (msg.type === 'berth:node-metrics') {
    appendFileSync(journal, `${slot} node-metrics ${JSON.stringify(msg.text)}\n`);
    return;
  }
  if (msg.type === 'berth:apply-ops') {
    // Keeps no body: the pool must send the whole one instead.
    appendFileSync(journal, `${slot} ${process.pid} ops refused\n`);
    const result = { ok: false, code: WORKER_NO_BASE, error: 'no body kept' };
    process.send?.({ type: 'berth:applied', seq: msg.seq, result });
    return;
  }
  const names = Object.keys(msg.body.entryPoints).sort();
  const marker = names.join('+');
  const wants = (what: string) => names.includes(`${what}-${slot}`) || names.includes(`${what}-all`);
  if (wants('die') && once(`die-${slot}`)) process.exit(1);
  if (wants('hang') && once(`hang-${slot}`)) return;
  if (wants('deaf')) deaf = true;
  // As prometheus@internal does in a real worker: the primary answers with every worker's merged.
  if (wants('askmetrics')) process.send?.({ type: 'berth:node-metrics', seq: 7 });
  const refuse = wants('refuse');
  appendFileSync(journal, `${slot} ${process.pid} ${marker} ${refuse ? 'refused' : 'applied'}\n`);
  if (wants('freeze') && once(`freeze-${slot}`)) {
    // Answers, then blocks its event loop like a runaway request would (bounded, for safety).
    setTimeout(() => {
      const until = Date.now() + 20_000;
      while (Date.now() < until) {}
    }, 50);
  }
  process.send?.({
    type: 'berth:applied',
    seq: msg.seq,
    result: refuse
      ? { ok: false, code: 'BERTH_TEST_REFUSED', error: `slot ${slot} refuses` }
      : { ok: true, listeners: [{ entryPoint: 'web', address: '127.0.0.1:1' }] },
  });
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'berth:ready' });
