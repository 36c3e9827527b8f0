// Host names and Berth dynamic configuration for N host routes, all to the same backend.

export const KEEP_ALIVE_HOST = 'app.bench.test';

/** Host of route `i` in generation `gen` (a new generation renames every route, so nothing is reused). */
export function routeHost(i, gen = 0) {
  return gen === 0 ? `r${i}.bench.test` : `r${i}.g${gen}.bench.test`;
}

/** The route a lookup benchmark targets: the middle one, neither first nor last in any order. */
export function targetIndex(count) {
  return Math.floor(count / 2);
}

/**
 * One router and one service per host, as a fleet of containers would produce; every service
 * points at the same backend so only the routing table differs between 10 and 10,000.
 */
export function berthRoutesYaml(hosts, backendUrl) {
  const lines = ['http:', '  routers:'];
  hosts.forEach((h, i) => {
    lines.push(`    r${i}:`, `      rule: Host(\`${h}\`)`, `      service: s${i}`);
  });
  lines.push('  services:');
  hosts.forEach((_h, i) => {
    lines.push(`    s${i}:`, '      loadBalancer:', '        servers:', `          - url: ${backendUrl}`);
  });
  return `${lines.join('\n')}\n`;
}

export function hostsFor(count, gen = 0) {
  return Array.from({ length: count }, (_v, i) => routeHost(i, gen));
}
