// Bearer-token check that takes the same time whatever the guess, so the token cannot be found byte by byte.
import { createHash, timingSafeEqual } from 'node:crypto';

/** Returns a checker for an `Authorization` header value. */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  // Hashing first gives equal-length inputs, so even the token's length does not leak.
  const expected = digest(token);
  return (header) => {
    if (header === undefined) return false;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    const presented = m?.[1];
    if (presented === undefined) return false;
    return timingSafeEqual(digest(presented), expected);
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
