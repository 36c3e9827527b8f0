// Which `Host` headers the API answers: loopback, IP literals and configured names, so a web page cannot read it through DNS rebinding.
import { isIP } from 'node:net';

/**
 * DNS rebinding needs a name the attacker's DNS answers: a page at `http://evil.example:7380/`
 * re-resolves the name to 127.0.0.1 and reads the API as its own origin, with `Host:
 * evil.example:7380`. An IP literal in `Host` means the browser's origin is that address itself,
 * which no attacker page can be, so every IP literal is accepted; names only when they are
 * `localhost` or listed (`--api-host`, and the API's bind address when it is a name). `*` in the
 * list turns the check off (an API behind a reverse proxy that forwards any Host).
 */
export function hostChecker(allowed: readonly string[] = []): (host: string | undefined) => boolean {
  const names = new Set(allowed.map(normalizeName));
  if (names.has('*')) return () => true;
  names.add('localhost');
  return (header) => {
    // Browsers always send Host; a request without one (HTTP/1.0 tools) cannot come from a rebinding page.
    if (header === undefined || header === '') return true;
    const host = hostOf(header);
    if (host === null) return false;
    if (isIP(host) !== 0) return true;
    return names.has(normalizeName(host));
  };
}

/** The host part of a `Host` header (`name`, `name:port`, `1.2.3.4:port`, `[::1]:port`), unbracketed; null if malformed. */
export function hostOf(header: string): string | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/]+))(?::\d{1,5})?$/.exec(header.trim());
  if (!m) return null;
  if (m[1] !== undefined) return isIP(m[1]) === 6 ? m[1] : null;
  return m[2] ?? null;
}

/** Lower case, without the root's trailing dot (`localhost.` is `localhost`). */
function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}
