// Which response media types compress should touch: include/exclude lists with `type/*` wildcards. Pure.

/**
 * Already compressed, or not worth it. SVG is text, so `image/svg+xml` is kept by an explicit
 * check; `text/event-stream` is never touched so events are never held back.
 */
export const DEFAULT_EXCLUDED_TYPES: readonly string[] = [
  'image/*',
  'video/*',
  'audio/*',
  'font/woff',
  'font/woff2',
  'application/zip',
  'application/gzip',
  'application/x-gzip',
  'application/zstd',
  'application/x-brotli',
  'application/x-7z-compressed',
  'application/x-rar-compressed',
  'application/x-bzip2',
  'application/x-xz',
  'application/octet-stream',
  'application/pdf',
  'application/wasm',
  'application/grpc',
];

/** `text/html; charset=utf-8` → `text/html`. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

function matches(type: string, pattern: string): boolean {
  const p = mediaType(pattern);
  if (p.endsWith('/*')) return type.startsWith(p.slice(0, -1));
  return type === p;
}

export interface TypeFilter {
  included?: readonly string[] | undefined;
  excluded?: readonly string[] | undefined;
}

/** True when a response of this Content-Type may be compressed. No Content-Type: not compressed. */
export function compressibleType(contentType: string | undefined, filter: TypeFilter): boolean {
  if (contentType === undefined || contentType.trim() === '') return false;
  const type = mediaType(contentType);
  if (type === 'text/event-stream') return false;
  if (filter.included && filter.included.length > 0) return filter.included.some((p) => matches(type, p));
  const excluded = filter.excluded && filter.excluded.length > 0 ? filter.excluded : DEFAULT_EXCLUDED_TYPES;
  if (type === 'image/svg+xml' && excluded === DEFAULT_EXCLUDED_TYPES) return true;
  return !excluded.some((p) => matches(type, p));
}
