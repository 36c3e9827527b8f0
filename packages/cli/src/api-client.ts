// Talks to the controller's internal API for `berth nodes`, `berth routes` and friends.
// node:http rather than fetch: fetch's first call loads undici, a fifth of a second of start-up.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CliError } from './output.js';

export const DEFAULT_API = 'http://127.0.0.1:7380';

export interface ApiTarget {
  url: string;
  token?: string;
}

export interface ApiAddress {
  /** `http://host:port`, what clients dial. */
  url: string;
  /** `host:port`, what the controller listens on (`[v6]:port` for IPv6). */
  hostPort: string;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/;

/**
 * `--api` as a URL (`http://127.0.0.1:7380`) or as `host:port` (`127.0.0.1:7380`, `:7380`), the
 * same on every command: the controller's flag names where it listens, the clients' where they dial.
 */
export function parseApiAddress(text: string): ApiAddress {
  const bad = () =>
    new CliError(
      'BERTH_CLI_BAD_FLAG',
      `--api expects host:port (127.0.0.1:7380) or a URL (http://127.0.0.1:7380), got '${text}'`,
    );
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      throw bad();
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad();
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    // Keep a path prefix (an API behind a reverse proxy), without a trailing slash.
    const base = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
    return { url: base, hostPort: `${u.hostname}:${port}` };
  }
  const m = HOST_PORT.exec(text);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw bad();
  const host = m[1] || '127.0.0.1';
  return { url: `http://${host}:${port}`, hostPort: `${m[1] ?? ''}:${port}` };
}

export function apiTarget(flags: { api?: string | undefined; 'api-token'?: string | undefined }): ApiTarget {
  const { url } = parseApiAddress(flags.api ?? process.env['BERTH_API'] ?? DEFAULT_API);
  const token = flags['api-token'] ?? process.env['BERTH_API_TOKEN'];
  return token ? { url, token } : { url };
}

function call(
  method: string,
  url: URL,
  token: string | undefined,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const req = send(url, { method, headers, timeout: 10_000 }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

export function apiGet<T>(target: ApiTarget, path: string): Promise<T> {
  return apiCall<T>(target, 'GET', path);
}

/** A request to the API with a JSON body (or none); the reply's JSON, or a CliError naming the API's code. */
export async function apiCall<T>(
  target: ApiTarget,
  method: string,
  path: string,
  requestBody?: unknown,
): Promise<T> {
  let res: { status: number; text: string };
  try {
    res = await call(method, new URL(`${target.url}${path}`), target.token, requestBody);
  } catch (err) {
    const cause = (err as { code?: string }).code ?? (err as Error).message;
    throw new CliError(
      'BERTH_CLI_API_UNREACHABLE',
      `cannot reach the controller API at ${target.url} (${cause}); is \`berth controller\` or \`berth up\` running? (--api host:port or URL, or BERTH_API)`,
    );
  }
  let body: unknown = null;
  try {
    body = JSON.parse(res.text);
  } catch {
    // not JSON: reported below by status
  }
  if (res.status < 200 || res.status >= 300) {
    const b = body as { code?: string; message?: string } | null;
    throw new CliError(b?.code ?? 'BERTH_CLI_API_ERROR', `${path}: ${res.status} ${b?.message ?? res.text}`);
  }
  return body as T;
}
