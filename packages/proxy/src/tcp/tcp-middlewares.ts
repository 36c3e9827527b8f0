// TCP middlewares (pure but for their counters): ipAllowList and inFlightConn, composed into one admission check.
import { CidrSet, type TcpMiddleware } from '@berth/config';
import { unmapIPv4 } from './proxy-protocol.js';

export type Admission = { ok: true; release: () => void } | { ok: false; reason: string };

/** Decides, per connection, from the client address; `release` is called once the connection is over. */
export type TcpAdmit = (clientIp: string) => Admission;

const noop = () => {};

export function buildTcpMiddleware(name: string, spec: TcpMiddleware): TcpAdmit {
  if (spec.ipAllowList) {
    const { set } = CidrSet.parse(spec.ipAllowList.sourceRange);
    return (ip) =>
      set.contains(unmapIPv4(ip)) || set.contains(ip)
        ? { ok: true, release: noop }
        : { ok: false, reason: `${name}: ${ip} is not allowed` };
  }
  if (spec.inFlightConn) {
    const amount = spec.inFlightConn.amount;
    const counts = new Map<string, number>();
    return (ip) => {
      const n = counts.get(ip) ?? 0;
      if (n >= amount) return { ok: false, reason: `${name}: ${ip} has ${n} connections open` };
      counts.set(ip, n + 1);
      let released = false;
      return {
        ok: true,
        release: () => {
          if (released) return;
          released = true;
          const left = (counts.get(ip) ?? 1) - 1;
          if (left <= 0) counts.delete(ip);
          else counts.set(ip, left);
        },
      };
    };
  }
  return () => ({ ok: true, release: noop });
}

/** Runs every check in order; a refusal releases what the earlier ones took. */
export function chainTcpAdmits(admits: readonly TcpAdmit[]): TcpAdmit {
  if (admits.length === 0) return () => ({ ok: true, release: noop });
  return (ip) => {
    const taken: (() => void)[] = [];
    for (const admit of admits) {
      const a = admit(ip);
      if (!a.ok) {
        for (const release of taken) release();
        return a;
      }
      taken.push(a.release);
    }
    return {
      ok: true,
      release: () => {
        for (const release of taken) release();
      },
    };
  };
}
