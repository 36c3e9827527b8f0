// Request checks Node's strict parser leaves to the application (framing, header count), so no ambiguous or overlong request reaches a server. Pure.

/** What the checks read from an IncomingMessage. */
export interface FramedRequest {
  headers: { 'transfer-encoding'?: string | undefined };
  rawHeaders: readonly string[];
  httpVersionMinor: number;
  httpVersionMajor: number;
}

/**
 * Why the request must be refused with 400, or `null` when its framing is unambiguous.
 * llhttp already refuses CL+TE, duplicate or list-valued Content-Length, bad header bytes,
 * obs-fold and a final coding other than chunked; it lets through codings before `chunked`
 * (`gzip, chunked`), a coding it does not know (`xchunked`, refused only once the body fails),
 * Transfer-Encoding on HTTP/1.0 and repeated Host headers.
 */
export function framingError(req: FramedRequest): string | null {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding is faulty.
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return 'transfer-encoding on HTTP/1.0';
    if (te.length !== 7 || te.toLowerCase() !== 'chunked') return 'transfer-encoding other than chunked';
  }
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return 'more than one host header';
  }
  return null;
}

/**
 * Header lines of a request, for `http.maxHeaderCount`. HTTP/2 clients may split Cookie into
 * one field per crumb (RFC 9113 §8.2.3) for compression: they count as the one line HTTP/1.1
 * would send.
 */
export function headerCount(raw: readonly string[], http2: boolean): number {
  if (!http2) return raw.length >>> 1;
  let count = 0;
  let cookie = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 6 && name.toLowerCase() === 'cookie') {
      if (cookie) continue;
      cookie = true;
    }
    count++;
  }
  return count;
}
