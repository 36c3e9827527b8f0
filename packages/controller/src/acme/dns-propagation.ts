// Before the CA is asked to validate DNS-01: wait until every TXT record is visible through the
// configured resolvers (lego's pre-check, minus its authoritative-server step), so a slow DNS
// provider costs a wait here rather than a failed authorization at the CA.
import { getServers, Resolver } from 'node:dns';
import type { DnsPropagationSettings } from './dns-settings.js';

/** The TXT strings at `fqdn` (chunks joined), asking `servers`; [] when there is no such record. */
export type TxtLookup = (fqdn: string, servers: string[]) => Promise<string[]>;

export class DnsPropagationError extends Error {
  override readonly name = 'DnsPropagationError';
  readonly fqdn: string;

  constructor(fqdn: string, message: string) {
    super(message);
    this.fqdn = fqdn;
  }
}

/**
 * Resolves once each `{fqdn, value}` is seen (a wildcard and its apex: two values at one fqdn,
 * both required at once); rejects with a DnsPropagationError naming the first missing record and
 * the resolvers after `timeoutMs`. With `requireAllResolvers`, every resolver must see it; else the
 * resolvers are asked in order, the first to answer deciding, as lego does.
 */
export async function waitForTxtRecords(
  records: readonly { fqdn: string; value: string }[],
  resolvers: readonly string[],
  settings: DnsPropagationSettings,
  options: { signal?: AbortSignal; lookup?: TxtLookup; now?: () => number } = {},
): Promise<void> {
  const lookup = options.lookup ?? lookupTxt;
  const now = options.now ?? Date.now;
  if (settings.delayBeforeChecksMs > 0) await sleep(settings.delayBeforeChecksMs, options.signal);
  if (settings.disableChecks || records.length === 0) return;
  const servers = resolvers.length > 0 ? [...resolvers] : getServers();
  const groups = settings.requireAllResolvers ? servers.map((s) => [s]) : [servers];
  const deadline = now() + settings.timeoutMs;
  for (;;) {
    let missing: { fqdn: string; value: string; servers: string[]; seen: string } | null = null;
    for (const record of records) {
      for (const group of groups) {
        const seen = await lookup(record.fqdn, group).then(
          (values) => (values.includes(record.value) ? null : describe(values)),
          (err: Error & { code?: string }) => `lookup failed: ${err.code ?? err.message}`,
        );
        if (seen !== null) {
          missing = { ...record, servers: group, seen };
          break;
        }
      }
      if (missing) break;
    }
    if (missing === null) return;
    if (now() + settings.intervalMs > deadline || options.signal?.aborted)
      throw new DnsPropagationError(
        missing.fqdn,
        `TXT ${missing.fqdn} does not hold "${missing.value}" at ${missing.servers.join(', ') || 'the system resolvers'} after ${Math.round(settings.timeoutMs / 1000)} s (${missing.seen}); the provider accepted it, so it is slow to propagate or went elsewhere`,
      );
    await sleep(settings.intervalMs, options.signal);
  }
}

function describe(values: string[]): string {
  if (values.length === 0) return 'no TXT record';
  const shown = values.slice(0, 3).map((v) => JSON.stringify(v));
  return `seen: ${shown.join(', ')}${values.length > 3 ? `, … (${values.length})` : ''}`;
}

/** node:dns with its own servers (`IP:PORT` allowed); NXDOMAIN and NODATA read as no record. */
export async function lookupTxt(fqdn: string, servers: string[]): Promise<string[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers(servers);
  try {
    const answers = await new Promise<string[][]>((resolve, reject) =>
      resolver.resolveTxt(fqdn.replace(/\.$/, ''), (err, records) => (err ? reject(err) : resolve(records))),
    );
    return answers.map((chunks) => chunks.join(''));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
    throw err;
  } finally {
    resolver.cancel();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
