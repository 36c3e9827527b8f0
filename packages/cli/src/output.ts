// What the CLI prints for people: aligned tables; `--json` bypasses this entirely.

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** A user-facing failure: printed as `berth: <message>` with its code, exit status 1, no stack trace. */
export class CliError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Rethrows an error a command's start-up met: one with a Berth code (a file it cannot write, a bad
 * --metrics address) as a CliError, printed as one line with its code and no stack trace; any
 * other as it is.
 */
export function rethrowAsCliError(err: unknown): never {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('BERTH_')) throw new CliError(code, (err as Error).message);
  throw err;
}
