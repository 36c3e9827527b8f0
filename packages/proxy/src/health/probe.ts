// One health probe over undici: an HTTP request with a deadline whose status decides healthy or not.
import type { Dispatcher } from 'undici';
import { undici } from '../http/undici-loader.js';
import type { ActiveSettings } from './active-settings.js';

export interface ProbeResult {
  healthy: boolean;
  /** `status 503`, `timeout after 500ms`, `ECONNREFUSED`: why, for the transition log. */
  detail: string;
}

/** Never rejects. `stop` aborts a probe whose checker was stopped. */
export async function probe(
  dispatcher: Dispatcher,
  settings: ActiveSettings,
  stop: AbortSignal,
): Promise<ProbeResult> {
  const deadline = AbortSignal.timeout(settings.timeoutMs);
  const signal = AbortSignal.any([deadline, stop]);
  try {
    const res = await undici().request(settings.url, {
      dispatcher,
      method: settings.method as Dispatcher.HttpMethod,
      headers: settings.headers,
      signal,
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
    });
    // The body is not read; dropping it (up to a small limit) keeps the connection reusable.
    await res.body.dump({ limit: 64 * 1024, signal });
    const status = res.statusCode;
    return { healthy: settings.healthy(status), detail: `status ${status}` };
  } catch (err) {
    if (deadline.aborted) return { healthy: false, detail: `timeout after ${settings.timeoutMs}ms` };
    const e = err as { code?: string; message?: string };
    return { healthy: false, detail: e.code ?? e.message ?? 'probe failed' };
  }
}
