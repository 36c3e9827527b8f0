// The controller's ACME side at run time: one AcmeResolver per configured resolver, one schedule per
// certificate the routers ask for, and the challenge board that publishes answers to every node.
//
// - `sync(requests)` after each compile: new certificates load what storage holds (a restart
//   orders nothing while they are valid), removed ones stop being scheduled (their files stay).
// - Each certificate has one timer from renewalPlan(): the start of its renewal window, or a
//   backoff after a failure (honouring the CA's Retry-After). Only one order per certificate runs.
// - HTTP-01 and TLS-ALPN-01 answers are published in a snapshot; the CA is asked to look only after
//   every connected node applied it (`whenApplied`), and answers are withdrawn after the order.
//   While no node is connected, such orders wait: the CA could reach nobody.
// - The certificate in service changes only when the new one is stored: the old one keeps serving
//   until the snapshot with its successor reaches the nodes.
import type { ConfigError, Source } from '@berth/config';
import type { AcmeChallenges } from '@berth/protocol';
import type { Logger } from 'pino';
import { AcmeError, AcmeErrorCodes } from './acme-errors.js';
import {
  AcmeResolver,
  type AcmeResolverOptions,
  type ChallengeBoard,
  type ChallengeMaterial,
} from './acme-resolver.js';
import type { StoredCertificate } from './acme-storage.js';
import type { CertificateRequest } from './certificate-requests.js';
import {
  type RenewalFailures,
  type RenewalReason,
  renewalPlan,
  type SuggestedWindow,
} from './renewal-plan.js';
import type { AcmeResolverSettings } from './resolver-settings.js';

/** What the manager uses of an AcmeResolver. */
export type ResolverLike = Pick<AcmeResolver, 'name' | 'settings' | 'stored' | 'obtain' | 'close'> &
  Partial<Pick<AcmeResolver, 'renewalInfo'>>;

/** A published snapshot: what a challenge waits on. */
export interface PublishedVersion {
  epoch: string;
  version: number;
  acme: AcmeChallenges | undefined;
}

export interface AcmeManagerTiming {
  /** Never renew a certificate sooner than this after it was issued (default 1 h). */
  minRenewalGapMs?: number;
  /** Upper bound of the jitter added to the renewal window's start (default 12 h). */
  maxJitterMs?: number;
  /** First retry after a failure (default 1 min), doubling up to 6 h. */
  minRetryMs?: number;
  /** How long every node may take to serve a challenge (default 60 s). */
  presentTimeoutMs?: number;
  /** The CA's pending-challenge polling (acme-client backoff). */
  polling?: { attempts: number; minMs: number; maxMs: number };
}

export interface AcmeManagerOptions {
  resolvers: ReadonlyMap<string, AcmeResolverSettings>;
  dataDir: string;
  logger: Logger;
  /** Compiles and publishes a snapshot with the current answers; resolves once it is stored. */
  publish(reason: string): Promise<PublishedVersion | null>;
  /** Resolves when every connected node applied `version` (see Distributor.whenApplied). */
  whenApplied(epoch: string, version: number, signal: AbortSignal): Promise<void>;
  /** Connected nodes now; HTTP-01 and TLS-ALPN-01 orders wait for at least one. */
  connectedNodes(): number;
  /** Called on any node change (connect, ack): lets waiting orders go. */
  onNodesChange(cb: () => void): () => void;
  timing?: AcmeManagerTiming;
  now?: () => number;
  /** Tests swap the resolver (a fake CA); default AcmeResolver. */
  createResolver?: (options: AcmeResolverOptions) => ResolverLike;
}

/** What the snapshot's `tls.certificates` gets for one ordered certificate. */
export interface AcmeCertificateMaterial {
  resolver: string;
  domains: string[];
  routers: string[];
  certPem: string;
  keyPem: string;
}

export type AcmeCertificateState =
  /** Storage not read yet. */
  | 'loading'
  /** A certificate is in service and not due. */
  | 'valid'
  /** An order runs. */
  | 'ordering'
  /** Waiting for a proxy node to connect (the CA must reach one to validate). */
  | 'waiting-for-node'
  /** The last attempt failed; the next one is scheduled (backoff). */
  | 'failed';

/** One certificate as the API and `berth certs` show it (never its key). */
export interface AcmeCertificateStatus {
  resolver: string;
  domains: string[];
  /** `http.routers.NAME` of every router served by it. */
  routers: string[];
  challenge: string;
  state: AcmeCertificateState;
  /** ISO 8601 of the certificate in service (null: none yet; routers serve the default one). */
  notBefore: string | null;
  notAfter: string | null;
  issuedAt: string | null;
  /** Within 7 days of expiry, or expired. */
  expiringSoon: boolean;
  lastAttemptAt: string | null;
  lastSuccessAt: string | null;
  nextAttemptAt: string | null;
  /** Why the next attempt is when it is (`window`, `backoff`, `retry-after`, `missing`, `expired`). */
  nextReason: RenewalReason | null;
  /** Consecutive failed attempts. */
  failures: number;
  lastError: { code: string; message: string; at: string } | null;
  /** Orders placed for it by this controller since it started. */
  orders: number;
}

interface Entry {
  key: string;
  request: CertificateRequest;
  resolver: ResolverLike;
  certificate: StoredCertificate | null;
  state: AcmeCertificateState;
  loaded: Promise<void>;
  failures: RenewalFailures | null;
  lastError: (AcmeError & { at: number }) | null;
  lastAttemptAt: number | null;
  lastSuccessAt: number | null;
  next: { at: number; reason: RenewalReason } | null;
  timer: NodeJS.Timeout | null;
  running: boolean;
  orders: number;
  removed: boolean;
  /** The CA's ARI window for the certificate in service, when it offers one (RFC 9773). */
  suggestedWindow: SuggestedWindow | null;
  /** The next ARI poll. */
  ariTimer: NodeJS.Timeout | null;
}

const HOUR = 3_600_000;
/** setTimeout's limit is 2^31-1 ms (24.8 days); longer waits re-plan when they wake. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class AcmeManager {
  readonly #options: AcmeManagerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #resolvers = new Map<string, ResolverLike>();
  readonly #entries = new Map<string, Entry>();
  /** Challenge answers being served, by resolver + type + domain + token. */
  readonly #answers = new Map<string, { material: ChallengeMaterial; entryPoint: string | null }>();
  readonly #offNodes: () => void;
  #closed = false;

  constructor(options: AcmeManagerOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'acme' });
    this.#now = options.now ?? Date.now;
    const board = this.#board();
    const create = options.createResolver ?? ((o: AcmeResolverOptions): ResolverLike => new AcmeResolver(o));
    for (const [name, settings] of options.resolvers) {
      const timing = options.timing ?? {};
      this.#resolvers.set(
        name,
        create({
          settings,
          dataDir: options.dataDir,
          board,
          now: this.#now,
          ...(timing.presentTimeoutMs === undefined ? {} : { presentTimeoutMs: timing.presentTimeoutMs }),
          ...(timing.polling === undefined ? {} : { polling: timing.polling }),
        }),
      );
    }
    // Orders held back for want of a node go as soon as one connects.
    this.#offNodes = options.onNodesChange(() => {
      if (this.#options.connectedNodes() === 0) return;
      for (const e of this.#entries.values())
        if (e.state === 'waiting-for-node' && !e.running) this.#schedule(e, 0);
    });
  }

  get resolverNames(): string[] {
    return [...this.#resolvers.keys()];
  }

  /**
   * The certificates the routers want now. Resolves once the new ones' storage was read, so the
   * snapshot being compiled already carries every stored certificate (a restart serves them at once).
   */
  async sync(requests: readonly CertificateRequest[]): Promise<void> {
    const wanted = new Map(requests.map((r) => [requestKey(r), r]));
    for (const [key, entry] of this.#entries) {
      if (wanted.has(key)) continue;
      entry.removed = true;
      if (entry.timer) clearTimeout(entry.timer);
      if (entry.ariTimer) clearTimeout(entry.ariTimer);
      this.#entries.delete(key);
    }
    const loading: Promise<void>[] = [];
    for (const [key, request] of wanted) {
      const existing = this.#entries.get(key);
      if (existing) {
        existing.request = request;
        continue;
      }
      const resolver = this.#resolvers.get(request.resolver);
      if (!resolver) continue;
      const entry: Entry = {
        key,
        request,
        resolver,
        certificate: null,
        state: 'loading',
        loaded: Promise.resolve(),
        failures: null,
        lastError: null,
        lastAttemptAt: null,
        lastSuccessAt: null,
        next: null,
        timer: null,
        running: false,
        orders: 0,
        removed: false,
        suggestedWindow: null,
        ariTimer: null,
      };
      entry.loaded = this.#load(entry);
      this.#entries.set(key, entry);
      loading.push(entry.loaded);
    }
    await Promise.all(loading);
  }

  async #load(entry: Entry): Promise<void> {
    try {
      entry.certificate = await entry.resolver.stored(entry.request.domains);
    } catch (err) {
      this.#failed(entry, err);
      this.#plan(entry);
      return;
    }
    entry.state = entry.certificate === null ? 'ordering' : 'valid';
    this.#plan(entry);
    this.#pollRenewalInfo(entry);
  }

  /**
   * Asks the CA for the certificate's renewal window (ARI) and re-plans when it moved; again after
   * the CA's Retry-After. A CA without ARI is asked nothing more; an ARI failure keeps the plan.
   */
  #pollRenewalInfo(entry: Entry): void {
    if (entry.ariTimer) clearTimeout(entry.ariTimer);
    entry.ariTimer = null;
    const certificate = entry.certificate;
    if (certificate === null || entry.resolver.renewalInfo === undefined || entry.removed || this.#closed)
      return;
    void entry.resolver.renewalInfo(certificate).then(
      (info) => {
        if (info === null || entry.removed || this.#closed || entry.certificate !== certificate) return;
        const moved =
          entry.suggestedWindow?.start !== info.suggestedWindow.start ||
          entry.suggestedWindow?.end !== info.suggestedWindow.end;
        entry.suggestedWindow = info.suggestedWindow;
        if (moved) {
          this.#log.info(
            {
              resolver: entry.request.resolver,
              domains: entry.request.domains,
              start: new Date(info.suggestedWindow.start).toISOString(),
              end: new Date(info.suggestedWindow.end).toISOString(),
              ...(info.explanationUrl === null ? {} : { explanation: info.explanationUrl }),
            },
            'the CA suggests a renewal window (ARI)',
          );
          if (!entry.running && entry.failures === null) this.#plan(entry);
        }
        entry.ariTimer = setTimeout(
          () => this.#pollRenewalInfo(entry),
          Math.min(info.pollAfterMs, MAX_TIMER_MS),
        );
        entry.ariTimer.unref();
      },
      (err: unknown) => {
        this.#log.warn(
          { resolver: entry.request.resolver, domains: entry.request.domains, err: (err as Error).message },
          'cannot read the renewal information (ARI); the renewal window stays',
        );
        entry.ariTimer = setTimeout(() => this.#pollRenewalInfo(entry), 6 * HOUR);
        entry.ariTimer.unref();
      },
    );
  }

  /** The certificates to serve, for the snapshot's `tls.certificates` (origin `acme`). */
  certificates(): AcmeCertificateMaterial[] {
    const out: AcmeCertificateMaterial[] = [];
    for (const e of this.#entries.values()) {
      if (e.certificate === null || e.certificate.notAfter <= this.#now()) continue;
      out.push({
        resolver: e.request.resolver,
        domains: e.certificate.domains,
        routers: e.request.routers,
        certPem: e.certificate.certPem,
        keyPem: e.certificate.keyPem,
      });
    }
    return out;
  }

  /** The challenge answers every node must serve now; undefined when there are none. */
  challenges(): AcmeChallenges | undefined {
    if (this.#answers.size === 0) return undefined;
    const http01: NonNullable<AcmeChallenges['http01']> = [];
    const tlsAlpn01: NonNullable<AcmeChallenges['tlsAlpn01']> = [];
    for (const { material, entryPoint } of this.#answers.values()) {
      if (material.type === 'http-01' && entryPoint !== null)
        http01.push({ entryPoint, token: material.token, keyAuthorization: material.keyAuthorization });
      else if (material.type === 'tls-alpn-01')
        tlsAlpn01.push({ domain: material.domain, certPem: material.certPem, keyPem: material.keyPem });
    }
    return {
      ...(http01.length > 0 ? { http01 } : {}),
      ...(tlsAlpn01.length > 0 ? { tlsAlpn01 } : {}),
    };
  }

  status(): AcmeCertificateStatus[] {
    const iso = (ms: number | null | undefined) =>
      ms === null || ms === undefined ? null : new Date(ms).toISOString();
    return [...this.#entries.values()]
      .map((e): AcmeCertificateStatus => {
        const c = e.certificate;
        const plan = this.#renewalPlan(e, e.failures);
        return {
          resolver: e.request.resolver,
          domains: e.request.domains,
          routers: e.request.routers,
          challenge: e.resolver.settings.challenge.type,
          state: e.state,
          notBefore: iso(c?.notBefore),
          notAfter: iso(c?.notAfter),
          issuedAt: c?.issuedAt ?? null,
          expiringSoon: plan.expiringSoon,
          lastAttemptAt: iso(e.lastAttemptAt),
          lastSuccessAt: iso(e.lastSuccessAt),
          nextAttemptAt: iso(e.next?.at),
          nextReason: e.next?.reason ?? null,
          failures: e.failures?.count ?? 0,
          lastError:
            e.lastError === null
              ? null
              : {
                  code: e.lastError.code,
                  message: e.lastError.message,
                  at: new Date(e.lastError.at).toISOString(),
                },
          orders: e.orders,
        };
      })
      .sort((a, b) => (a.resolver + a.domains.join(',')).localeCompare(b.resolver + b.domains.join(',')));
  }

  /**
   * Problems at run time, one per router a failing certificate serves (the router keeps serving the
   * previous or the default certificate: a warning), plus a warning per certificate near expiry.
   */
  errors(sources: ReadonlyMap<string, Source>): ConfigError[] {
    const out: ConfigError[] = [];
    for (const e of this.#entries.values()) {
      const names = e.request.domains.join(', ');
      const problem =
        e.lastError !== null
          ? { code: e.lastError.code, message: e.lastError.message }
          : e.certificate !== null && this.#renewalPlan(e, null).expiringSoon
            ? {
                code: AcmeErrorCodes.CERTIFICATE_EXPIRING,
                message: `certificate resolver "${e.request.resolver}" (${names}): the certificate expires ${new Date(e.certificate.notAfter).toISOString()} and has not been renewed yet`,
              }
            : null;
      if (problem === null) continue;
      // As certificates() decides: an expired certificate is no longer served.
      const inService = e.certificate !== null && e.certificate.notAfter > this.#now();
      for (const router of e.request.routers) {
        const source = sources.get(router);
        out.push({
          code: problem.code,
          path: `${router}.tls.certResolver`,
          message: `router "${router}": ${problem.message}${inService ? '' : '; it serves the default or a matching configured certificate meanwhile'}`,
          ...(source === undefined ? {} : { source }),
          severity: 'warning',
        });
      }
    }
    return out;
  }

  /** Places an order now for the certificate serving `domains` (an operator's "renew now"). */
  renewNow(resolver: string, domains: readonly string[]): boolean {
    const entry = this.#entries.get(requestKey({ resolver, domains: [...domains] }));
    if (!entry) return false;
    if (!entry.running) this.#schedule(entry, 0);
    return true;
  }

  #renewalPlan(entry: Entry, failures: RenewalFailures | null) {
    const minRetryMs = this.#options.timing?.minRetryMs;
    const certificate =
      entry.certificate === null || entry.suggestedWindow === null
        ? entry.certificate
        : { ...entry.certificate, suggestedWindow: entry.suggestedWindow };
    return renewalPlan(
      certificate,
      this.#now(),
      {
        renewBefore: entry.resolver.settings.renewBefore,
        ...(minRetryMs === undefined ? {} : { minRetryMs }),
      },
      failures,
    );
  }

  #plan(entry: Entry): void {
    if (entry.removed || this.#closed) return;
    const now = this.#now();
    const timing = this.#options.timing ?? {};
    const plan = this.#renewalPlan(entry, entry.failures);
    let at = plan.at;
    if ((plan.reason === 'window' || plan.reason === 'suggested-window') && entry.certificate !== null) {
      // Jitter beyond maxJitterMs is taken back (the CA's own window is its choice); a certificate
      // just issued is never renewed at once, even with a renewal window as long as its lifetime
      // or a CA that keeps suggesting a window in the past.
      const maxJitter = timing.maxJitterMs ?? 12 * HOUR;
      if (plan.windowStart !== null && plan.reason === 'window')
        at = Math.min(at, Math.max(now, plan.windowStart + maxJitter));
      const issued = Date.parse(entry.certificate.issuedAt);
      const gap = timing.minRenewalGapMs ?? HOUR;
      if (Number.isFinite(issued)) at = Math.max(at, issued + gap);
    }
    entry.next = { at, reason: plan.reason };
    this.#schedule(entry, Math.max(0, at - now));
  }

  #schedule(entry: Entry, delayMs: number): void {
    if (entry.timer) clearTimeout(entry.timer);
    if (entry.removed || this.#closed) return;
    if (delayMs > MAX_TIMER_MS) {
      entry.timer = setTimeout(() => this.#plan(entry), MAX_TIMER_MS);
    } else {
      // After a wait for a node `next` is null: the plan says why (a renewal is not `missing`).
      if (delayMs === 0)
        entry.next = {
          at: this.#now(),
          reason: entry.next?.reason ?? this.#renewalPlan(entry, entry.failures).reason,
        };
      entry.timer = setTimeout(() => void this.#attempt(entry), delayMs);
    }
    entry.timer.unref();
  }

  async #attempt(entry: Entry): Promise<void> {
    entry.timer = null;
    if (entry.running || entry.removed || this.#closed) return;
    const challenge = entry.resolver.settings.challenge.type;
    if (challenge !== 'dns-01' && this.#options.connectedNodes() === 0) {
      entry.state = 'waiting-for-node';
      entry.next = null;
      this.#log.info(
        { resolver: entry.request.resolver, domains: entry.request.domains },
        'ACME order waits for a proxy node to connect (the CA must reach one to validate)',
      );
      return;
    }
    entry.running = true;
    entry.state = 'ordering';
    entry.lastAttemptAt = this.#now();
    entry.orders++;
    const { resolver: name, domains } = entry.request;
    this.#log.info({ resolver: name, domains, renewal: entry.certificate !== null }, 'ACME order started');
    try {
      const certificate = await entry.resolver.obtain(domains);
      entry.certificate = certificate;
      entry.suggestedWindow = null;
      entry.failures = null;
      entry.lastError = null;
      entry.lastSuccessAt = this.#now();
      entry.state = 'valid';
      this.#log.info(
        { resolver: name, domains, notAfter: new Date(certificate.notAfter).toISOString() },
        'ACME certificate obtained',
      );
      if (!entry.removed) await this.#publish('acme certificate obtained');
    } catch (err) {
      this.#failed(entry, err);
    } finally {
      entry.running = false;
    }
    this.#plan(entry);
    if (entry.failures === null) this.#pollRenewalInfo(entry);
  }

  #failed(entry: Entry, err: unknown): void {
    const error =
      err instanceof AcmeError
        ? err
        : new AcmeError(
            AcmeErrorCodes.ORDER_FAILED,
            entry.request.resolver,
            entry.request.domains,
            String((err as Error)?.message ?? err),
            { cause: err },
          );
    const at = this.#now();
    entry.lastError = Object.assign(error, { at });
    entry.failures = {
      count: (entry.failures?.count ?? 0) + 1,
      lastAttemptAt: at,
      retryAfterMs: error.retryAfterMs,
    };
    entry.state = 'failed';
    this.#log.error(
      {
        code: error.code,
        resolver: entry.request.resolver,
        domains: entry.request.domains,
        failures: entry.failures.count,
      },
      error.message,
    );
    // The new error reaches /api/v1/errors with the next compile.
    void this.#publish('acme order failed');
  }

  /**
   * Publishes after an order; never rejects: a snapshot that cannot be stored is the compile's
   * problem (logged there), not a failed order, and a rejection here would go unhandled.
   */
  async #publish(reason: string): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#options.publish(reason);
    } catch (err) {
      this.#log.error(
        { err: (err as Error)?.message ?? String(err), reason },
        'cannot publish the ACME change; the next snapshot carries it',
      );
    }
  }

  /** Answers go into the next snapshot; `present` returns once every connected node applied it. */
  #board(): ChallengeBoard {
    const keyOf = (m: ChallengeMaterial) =>
      `${m.resolver}\n${m.type}\n${m.domain}\n${m.type === 'http-01' ? m.token : m.certPem}`;
    return {
      present: async (material, signal) => {
        const settings = this.#options.resolvers.get(material.resolver);
        const entryPoint = settings?.challenge.type === 'http-01' ? settings.challenge.entryPoint : null;
        this.#answers.set(keyOf(material), { material, entryPoint });
        const published = await this.#options.publish(
          `acme ${material.type} challenge for ${material.domain}`,
        );
        if (published === null || !carries(published.acme, material))
          throw new Error('the snapshot carrying the answer could not be published (see the controller log)');
        await this.#options.whenApplied(published.epoch, published.version, signal);
      },
      cleanup: async (material) => {
        if (this.#answers.delete(keyOf(material)))
          await this.#options.publish(`acme ${material.type} challenge for ${material.domain} withdrawn`);
      },
    };
  }

  close(): void {
    this.#closed = true;
    this.#offNodes();
    for (const e of this.#entries.values()) {
      if (e.timer) clearTimeout(e.timer);
      if (e.ariTimer) clearTimeout(e.ariTimer);
    }
    for (const r of this.#resolvers.values()) r.close();
  }
}

function requestKey(r: Pick<CertificateRequest, 'resolver' | 'domains'>): string {
  return `${r.resolver}\n${[...r.domains]
    .map((d) => d.toLowerCase())
    .sort()
    .join(',')}`;
}

function carries(acme: AcmeChallenges | undefined, m: ChallengeMaterial): boolean {
  if (m.type === 'http-01') return acme?.http01?.some((a) => a.token === m.token) === true;
  return acme?.tlsAlpn01?.some((a) => a.domain === m.domain && a.certPem === m.certPem) === true;
}
