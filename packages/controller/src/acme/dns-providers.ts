// DNS-01's TXT records, and the two providers that publish them, with lego's semantics (what
// Traefik users' scripts and services expect): `exec` runs a program, `httpreq` POSTs JSON.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { DnsProviderSettings } from './dns-settings.js';

/** One DNS-01 answer: a TXT record `fqdn` holding `value` (RFC 8555 §8.4). */
export interface Dns01Challenge {
  type: 'dns-01';
  resolver: string;
  /** As ordered: `*.example.test` for a wildcard (what lego's RAW mode passes). */
  domain: string;
  /** `_acme-challenge.example.test.`: a wildcard and its apex share it, with two values. */
  fqdn: string;
  /** base64url(sha256(keyAuthorization)). */
  value: string;
  token: string;
  keyAuthorization: string;
}

/** The record for one authorization (its identifier is the base name, `wildcard` set for `*.`). */
export function dns01Challenge(
  resolver: string,
  authz: { identifier: { value: string }; wildcard?: boolean },
  token: string,
  keyAuthorization: string,
): Dns01Challenge {
  const base = authz.identifier.value.replace(/^\*\./, '').replace(/\.$/, '');
  return {
    type: 'dns-01',
    resolver,
    domain: authz.wildcard ? `*.${base}` : base,
    fqdn: `_acme-challenge.${base}.`,
    value: dnsTxtValue(keyAuthorization),
    token,
    keyAuthorization,
  };
}

export function dnsTxtValue(keyAuthorization: string): string {
  return createHash('sha256').update(keyAuthorization).digest('base64url');
}

/** A provider could not present or clean up a record; the message says what it answered. */
export class DnsProviderError extends Error {
  override readonly name = 'DnsProviderError';
}

export interface DnsProvider {
  readonly name: string;
  /** Resolves once the provider accepted the record; `signal` kills a program / aborts a request. */
  present(challenge: Dns01Challenge, signal: AbortSignal): Promise<void>;
  cleanup(challenge: Dns01Challenge, signal: AbortSignal): Promise<void>;
}

export function dnsProvider(settings: DnsProviderSettings): DnsProvider {
  return settings.name === 'exec' ? new ExecProvider(settings) : new HttpreqProvider(settings);
}

/** Most of an error output worth putting in a message: the end, where programs say why. */
const EXCERPT_CHARS = 500;

function excerpt(text: string): string {
  const t = text.trim();
  return t.length <= EXCERPT_CHARS ? t : `…${t.slice(-EXCERPT_CHARS)}`;
}

/**
 * `PATH present|cleanup FQDN VALUE`, or with RAW `PATH present|cleanup -- DOMAIN TOKEN KEYAUTH`
 * (the `--` as lego: a token may start with `-`). Run directly, never through a shell; the
 * controller's environment is passed on (lego's behaviour, and where scripts find API tokens).
 */
class ExecProvider implements DnsProvider {
  readonly name = 'exec';
  readonly #settings: Extract<DnsProviderSettings, { name: 'exec' }>;

  constructor(settings: Extract<DnsProviderSettings, { name: 'exec' }>) {
    this.#settings = settings;
  }

  present(challenge: Dns01Challenge, signal: AbortSignal): Promise<void> {
    return this.#run('present', challenge, signal);
  }

  cleanup(challenge: Dns01Challenge, signal: AbortSignal): Promise<void> {
    return this.#run('cleanup', challenge, signal);
  }

  #run(action: 'present' | 'cleanup', c: Dns01Challenge, signal: AbortSignal): Promise<void> {
    const { path, mode } = this.#settings;
    const args =
      mode === 'raw' ? [action, '--', c.domain, c.token, c.keyAuthorization] : [action, c.fqdn, c.value];
    const what = `${path} ${action} ${mode === 'raw' ? c.domain : c.fqdn}`;
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(new DnsProviderError(`${what}: not started, timed out`));
        return;
      }
      // Its own process group: a timed-out script is killed with whatever it started (a `sleep`,
      // a curl), which would otherwise hold its output pipes open.
      const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false, detached: true });
      const killGroup = (sig: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, sig);
        } catch {
          // Already gone.
        }
      };
      let stderr = '';
      let stdout = '';
      // Only the tail is kept: a chatty program must not grow the controller's memory.
      const keep = (prev: string, chunk: Buffer) => (prev + chunk.toString('utf8')).slice(-4 * EXCERPT_CHARS);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout = keep(stdout, chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = keep(stderr, chunk);
      });
      let killed = false;
      let forceKill: NodeJS.Timeout | undefined;
      const onAbort = () => {
        killed = true;
        killGroup('SIGTERM');
        forceKill = setTimeout(() => killGroup('SIGKILL'), 2000);
        forceKill.unref();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        signal.removeEventListener('abort', onAbort);
        clearTimeout(forceKill);
      };
      child.once('error', (err) => {
        done();
        reject(new DnsProviderError(`${what}: cannot run ${path}: ${err.message}`, { cause: err }));
      });
      child.once('close', (code, sig) => {
        done();
        if (code === 0 && !killed) {
          resolve();
          return;
        }
        const output = excerpt(stderr) || excerpt(stdout);
        const how = killed ? 'killed: timed out' : code !== null ? `exit code ${code}` : `killed by ${sig}`;
        reject(new DnsProviderError(`${what}: ${how}${output ? `: ${output}` : ''}`));
      });
    });
  }
}

/**
 * POST `ENDPOINT/present` and `/cleanup`, JSON `{fqdn, value}` (RAW: `{domain, token, keyAuth}`),
 * basic auth when a username and a password are set. Any answer but 2xx is a failure.
 */
class HttpreqProvider implements DnsProvider {
  readonly name = 'httpreq';
  readonly #settings: Extract<DnsProviderSettings, { name: 'httpreq' }>;

  constructor(settings: Extract<DnsProviderSettings, { name: 'httpreq' }>) {
    this.#settings = settings;
  }

  present(challenge: Dns01Challenge, signal: AbortSignal): Promise<void> {
    return this.#post('present', challenge, signal);
  }

  cleanup(challenge: Dns01Challenge, signal: AbortSignal): Promise<void> {
    return this.#post('cleanup', challenge, signal);
  }

  async #post(action: 'present' | 'cleanup', c: Dns01Challenge, signal: AbortSignal): Promise<void> {
    const { endpoint, mode, username, password, httpTimeoutMs } = this.#settings;
    const url = new URL(endpoint);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${action}`;
    url.search = '';
    // Credentials never appear in a message, wherever they were written.
    const shown = `${url.origin}${url.pathname}`;
    const body =
      mode === 'raw'
        ? { domain: c.domain, token: c.token, keyAuth: c.keyAuthorization }
        : { fqdn: c.fqdn, value: c.value };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (username && password)
      headers['authorization'] = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(httpTimeoutMs)]),
      });
    } catch (err) {
      const e = err as Error & { cause?: Error };
      const why =
        e.name === 'TimeoutError'
          ? `no answer within ${httpTimeoutMs} ms`
          : e.name === 'AbortError'
            ? 'aborted: timed out'
            : (e.cause?.message ?? e.message);
      throw new DnsProviderError(`POST ${shown}: ${why}`, { cause: err });
    }
    const text = await response.text().catch(() => '');
    if (response.status < 200 || response.status > 299)
      throw new DnsProviderError(
        `POST ${shown}: HTTP ${response.status}${text.trim() ? `: ${excerpt(text.replace(/\s+/g, ' '))}` : ''}`,
      );
  }
}
