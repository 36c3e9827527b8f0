// The entry points a router without `entryPoints` listens on, as Traefik v3 chooses them
// (cmd/traefik getDefaultsEntrypoints): those flagged `asDefault`, else every one but `traefik`.
import type { StaticConfig } from '@berth/config';
import { compareStrings } from './merge.js';

/** Traefik's internal entry point (API, dashboard, ping): never a default one. */
export const TRAEFIK_ENTRY_POINT = 'traefik';

/** Sorted. UDP entry points (`:53/udp`) never take HTTP or TCP routers. */
export function defaultEntryPoints(statics: StaticConfig): string[] {
  const all = Object.entries(statics.entryPoints).filter(([, ep]) => !/\/udp$/i.test(ep.address));
  const flagged = all.filter(([, ep]) => ep.asDefault === true);
  const chosen = flagged.length > 0 ? flagged : all.filter(([name]) => name !== TRAEFIK_ENTRY_POINT);
  return chosen.map(([name]) => name).sort(compareStrings);
}
