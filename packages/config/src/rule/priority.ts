// Traefik's default router priority: longer rules are assumed more specific and win.

/** Counts UTF-8 bytes, as Traefik's Go `len(rule)` does; for ASCII rules that is the length. */
export function rulePriority(rule: string): number {
  let bytes = 0;
  for (const ch of rule) {
    const code = ch.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}
