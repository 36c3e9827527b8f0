// Starts several targets, warms each up, then measures them in interleaved rounds.
import { fmtInt, fmtUs } from '../report/format.mjs';
import { measureRound, warmUp } from './measure.mjs';

/** Rounds per target name; `startArgs` is passed to every target's start(). */
export async function compareTargets(ctx, targets, host, startArgs) {
  const started = [];
  try {
    for (const t of targets) {
      ctx.log(`starting ${t.label}`);
      started.push(await t.start(ctx, startArgs));
    }
    for (const t of started) {
      ctx.log(`warming up ${t.label} (${ctx.opts.warmupS} s)`);
      await warmUp(ctx, t, host);
    }
    const rounds = Object.fromEntries(started.map((t) => [t.name, []]));
    for (let r = 0; r < ctx.opts.rounds; r++) {
      // Rotating the order spreads slow drifts in background load over every target alike.
      const order = started.map((_t, i) => started[(i + r) % started.length]);
      for (const t of order) {
        const m = await measureRound(ctx, t, { host, durationS: ctx.opts.durationS });
        rounds[t.name].push(m);
        ctx.log(
          `round ${r + 1}/${ctx.opts.rounds} ${t.label}: ${fmtInt(m.reqPerSec)} req/s, p99 ${fmtUs(m.p99Us)}, ${fmtUs(m.cpuUsPerReq)} CPU/req`,
        );
      }
    }
    return { rounds, labels: Object.fromEntries(started.map((t) => [t.name, t.label])) };
  } finally {
    for (const t of started.reverse()) await t.stop();
  }
}
