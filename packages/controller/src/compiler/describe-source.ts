// One-line rendering of where a definition came from, for messages that must name two places at once.
import type { Source } from '@berth/config';

export function describeSource(source: Source | undefined, fallback: string): string {
  if (source === undefined) return fallback;
  const line = source.line === undefined ? '' : `:${source.line}`;
  const label = source.label === undefined ? '' : ` (label ${source.label})`;
  return `${source.provider} ${source.origin}${line}${label}`;
}
