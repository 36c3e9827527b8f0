// What Node accepts as a header name or value: configuration that fails here would throw in the proxy.

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Node's own check (`checkInvalidHeaderChar`): tab, visible ASCII and obs-text only.
const INVALID_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

export function isHeaderName(name: string): boolean {
  return TOKEN.test(name);
}

export function isHeaderValue(value: string): boolean {
  return !INVALID_VALUE_CHAR.test(value);
}

/** Node refuses request paths with spaces or control characters (`ERR_UNESCAPED_CHARACTERS`). */
export function isRequestPath(path: string): boolean {
  if (!path.startsWith('/')) return false;
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return false;
  }
  return true;
}
