// Talks to the controller's internal API for `berth nodes`, `berth routes` and friends.
import { CliError } from './output.js';

export const DEFAULT_API = 'http://127.0.0.1:7380';

export interface ApiTarget {
  url: string;
  token?: string;
}

export function apiTarget(flags: { api?: string | undefined; 'api-token'?: string | undefined }): ApiTarget {
  const url = flags.api ?? process.env['BERTH_API'] ?? DEFAULT_API;
  const token = flags['api-token'] ?? process.env['BERTH_API_TOKEN'];
  return token ? { url, token } : { url };
}

export async function apiGet<T>(target: ApiTarget, path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(path, target.url), {
      headers: target.token ? { authorization: `Bearer ${target.token}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(
      'BERTH_CLI_API_UNREACHABLE',
      `cannot reach the controller API at ${target.url} (${cause}); is \`berth controller\` or \`berth up\` running? (--api URL or BERTH_API)`,
    );
  }
  const body = (await res.json().catch(() => null)) as unknown;
  if (!res.ok) {
    const b = body as { code?: string; message?: string } | null;
    throw new CliError(
      b?.code ?? 'BERTH_CLI_API_ERROR',
      `${path}: ${res.status} ${b?.message ?? res.statusText}`,
    );
  }
  return body as T;
}
