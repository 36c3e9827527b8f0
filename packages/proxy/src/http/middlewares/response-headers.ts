// Case-insensitive reads and edits of an OutgoingHttpHeaders object, for response-changing middlewares.
import type { OutgoingHttpHeaders } from 'node:http';

/** The key under which `name` is set in `headers`, whatever the case of either. */
function keyOf(headers: OutgoingHttpHeaders, name: string): string | undefined {
  if (name in headers) return name;
  const lower = name.toLowerCase();
  for (const key of Object.keys(headers)) if (key.toLowerCase() === lower) return key;
  return undefined;
}

/** The header's value as one string (repeated values joined with `, `), whatever its case. */
export function headerValue(headers: OutgoingHttpHeaders, name: string): string | undefined {
  const key = keyOf(headers, name);
  const value = key === undefined ? undefined : headers[key];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

export function deleteHeader(headers: OutgoingHttpHeaders, name: string): void {
  const key = keyOf(headers, name);
  if (key !== undefined) delete headers[key];
}

/** Sets `name` in lower case, replacing any spelling of it; `undefined` removes it. */
export function setHeader(
  headers: OutgoingHttpHeaders,
  name: string,
  value: string | number | undefined,
): void {
  deleteHeader(headers, name);
  if (value !== undefined) headers[name.toLowerCase()] = value;
}

/** The Content-Length as a number, or `undefined` when absent or not a plain decimal. */
export function contentLength(headers: OutgoingHttpHeaders): number | undefined {
  const value = headerValue(headers, 'content-length');
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}
