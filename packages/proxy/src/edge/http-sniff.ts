// Does a plain connection start with an HTTP/1 request line (or the h2c preface)? Decides between HTTP and a plain TCP catch-all.

/** Registered methods a client may open with; WebDAV's included. `PRI` is the HTTP/2 preface. */
const METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'PRI',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'REPORT',
  'SEARCH',
  'MKCALENDAR',
].map((m) => `${m} `);

/**
 * `yes` when the bytes start with `METHOD ` followed by a request target (`/`, `*` or an
 * absolute/authority form), `no` when they cannot, `more` while they are a prefix of one.
 */
export function looksLikeHttp(data: Buffer): 'yes' | 'no' | 'more' {
  const head = data.subarray(0, 16).toString('latin1');
  let prefixOfSome = false;
  for (const m of METHODS) {
    if (head.length > m.length) {
      if (head.startsWith(m)) return /^[/*A-Za-z0-9[]/.test(head.slice(m.length)) ? 'yes' : 'no';
    } else if (m.startsWith(head) || head === m) {
      prefixOfSome = true;
    }
  }
  return prefixOfSome ? 'more' : 'no';
}
