// The targets, checked against the medians: met, not met, or not measured.
import * as keepAlive from '../scenarios/keep-alive.mjs';
import * as routeLookup from '../scenarios/route-lookup.mjs';
import { fmtRatio } from './format.mjs';

function verdict(ok) {
  if (ok === null) return 'not measured';
  return ok ? '**met**' : '**not met**';
}

export function evaluateTargets(results) {
  const rows = [];
  const ka = results['keep-alive'];
  const s = ka ? keepAlive.summary(ka).berth : null;
  const cpuOk = s && Number.isFinite(s.cpuRatio) ? s.cpuRatio <= 1.35 : null;
  const reqOk = s && Number.isFinite(s.reqRatio) ? s.reqRatio >= 0.6 : null;
  rows.push({
    target: "Berth CPU per request ≤ 1.35× HAProxy's",
    measured: s ? `${fmtRatio(s.cpuRatio)}` : 'n/a',
    verdict: verdict(cpuOk),
  });
  rows.push({
    target: "Berth req/s ≥ 0.6× HAProxy's",
    measured: s ? `${fmtRatio(s.reqRatio)}` : 'n/a',
    verdict: verdict(reqOk),
  });
  // On a contended machine no proxy gets a whole CPU; requests per CPU-second is what one would do alone.
  const capOk = s && Number.isFinite(s.capacityRatio) ? s.capacityRatio >= 0.6 : null;
  rows.push({
    target: "… and as capacity: Berth requests per CPU-second ≥ 0.6× HAProxy's",
    measured: s ? `${fmtRatio(s.capacityRatio)}` : 'n/a',
    verdict: verdict(capOk),
  });
  const rl = results['route-lookup'];
  const r = rl ? routeLookup.summary(rl) : null;
  const routesOk =
    r && Number.isFinite(r.reqRatio) && Number.isFinite(r.cpuRatio)
      ? r.reqRatio >= 0.95 && r.cpuRatio <= 1.05
      : null;
  rows.push({
    target: '10,000 routes within 5% of 10 (req/s ≥ 0.95×, CPU per request ≤ 1.05×)',
    measured: r ? `req/s ${fmtRatio(r.reqRatio)}, CPU/request ${fmtRatio(r.cpuRatio)}` : 'n/a',
    verdict: verdict(routesOk),
  });
  const lookupOk = r && Number.isFinite(r.lookupRatio) ? r.lookupRatio <= 1.05 : null;
  rows.push({
    target: '… and in process: one route lookup among 10,000 within 5% of among 10',
    measured: r ? fmtRatio(r.lookupRatio) : 'n/a',
    verdict: verdict(lookupOk),
  });
  return rows;
}
