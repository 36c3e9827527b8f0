// One certificate resolver's ACME client: its account (created once, kept in the storage file),
// and orders whose HTTP-01 and TLS-ALPN-01 challenges are answered by whatever the injected
// ChallengeBoard stands for (in the controller: every connected proxy node, through snapshots),
// and DNS-01 challenges by the resolver's DNS provider (dns-providers.ts). Certificates and keys are kept
// in the same 0600 file and reused after a restart while they are valid and not due for renewal.
import { generateKeyPair, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { promisify } from 'node:util';
import * as acme from 'acme-client';
import { AcmeError, type AcmeErrorCode, AcmeErrorCodes } from './acme-errors.js';
import { type AcmeCallContext, probeDirectory, withAcmeCalls } from './acme-http.js';
import {
  AcmeStorage,
  StorageUnreadableError,
  type StoredAccount,
  type StoredCertificate,
} from './acme-storage.js';
import { sameNames } from './certificate-requests.js';
import { DnsPropagationError, type TxtLookup, waitForTxtRecords } from './dns-propagation.js';
import { type Dns01Challenge, type DnsProvider, dns01Challenge, dnsProvider } from './dns-providers.js';
import type { Dns01Settings } from './dns-settings.js';
import { ariCertId, fetchRenewalInfo, type RenewalInfo, renewalInfoUrl } from './renewal-info.js';
import {
  type CertificateDates,
  type RenewalFailures,
  type RenewalSettings,
  renewalPlan,
} from './renewal-plan.js';
import type { AcmeKeyType, AcmeResolverSettings } from './resolver-settings.js';

const generateKeyPairAsync = promisify(generateKeyPair);

type AcmeChallenge = acme.Authorization['challenges'][number];

/** HTTP-01: serve `keyAuthorization` as text at http://DOMAIN/.well-known/acme-challenge/TOKEN. */
export interface Http01Challenge {
  type: 'http-01';
  resolver: string;
  domain: string;
  token: string;
  keyAuthorization: string;
}

/** TLS-ALPN-01: answer `acme-tls/1` ClientHellos for DOMAIN with this certificate (RFC 8737). */
export interface TlsAlpn01Challenge {
  type: 'tls-alpn-01';
  resolver: string;
  domain: string;
  /** Self-signed, with the critical acmeIdentifier extension holding sha256(keyAuthorization). */
  certPem: string;
  keyPem: string;
}

/** What travels to the nodes for one challenge (DNS-01 goes to a DNS provider instead). */
export type ChallengeMaterial = Http01Challenge | TlsAlpn01Challenge;

/** One challenge's answer, wherever it is published. */
type AnyChallenge = ChallengeMaterial | Dns01Challenge;

/**
 * Where challenge answers are published. In the controller: a snapshot carrying the material,
 * `present` resolving once every connected node ACKed it (rejecting with an error naming a node
 * that NACKed or never answered); in tests, a local HTTP server.
 */
export interface ChallengeBoard {
  /** Resolves once the answer is served everywhere the CA may ask; `signal` aborts a timed-out wait. */
  present(challenge: ChallengeMaterial, signal: AbortSignal): Promise<void>;
  /** Withdraws it (after the order, success or not). */
  cleanup(challenge: ChallengeMaterial): Promise<void>;
}

export interface AcmeResolverOptions {
  settings: AcmeResolverSettings;
  /** The controller's data dir; the storage file is `settings.storage` in it. */
  dataDir: string;
  board: ChallengeBoard;
  /** How long `present` may take before the order fails (default 60 s); DNS-01: each provider call. */
  presentTimeoutMs?: number;
  /** Per HTTP request to the CA (default 60 s). */
  requestTimeoutMs?: number;
  /** Polling of pending challenges and orders (acme-client's backoff); defaults 10 × 1–10 s. */
  polling?: { attempts: number; minMs: number; maxMs: number };
  /** Step retries when the CA keeps rejecting nonces after acme-client's own retries (default 3). */
  badNonceRetries?: number;
  now?: () => number;
  /** DNS-01: instead of the provider the settings name (tests). */
  dnsProvider?: DnsProvider;
  /** DNS-01: instead of node:dns for the propagation check (tests). */
  txtLookup?: TxtLookup;
}

export interface ResolverStatus {
  /** Orders sent to the CA by this instance (a restart with valid certificates places none). */
  ordersPlaced: number;
}

const DEFAULT_PRESENT_TIMEOUT_MS = 60_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** acme-client's backoff while a challenge or order is pending: 10 polls, 1 s doubling to 10 s. */
const DEFAULT_POLLING = { attempts: 10, minMs: 1000, maxMs: 10_000 };

export class AcmeResolver {
  readonly name: string;
  readonly settings: AcmeResolverSettings;
  readonly storage: AcmeStorage;
  readonly status: ResolverStatus = { ordersPlaced: 0 };
  readonly #board: ChallengeBoard;
  readonly #options: AcmeResolverOptions;
  readonly #now: () => number;
  #agent: Promise<Agent | undefined> | null = null;
  #client: Promise<acme.Client> | null = null;
  /** The CA's renewalInfo URL (null: it offers none), fetched once from the directory. */
  #renewalInfoUrl: Promise<string | null> | null = null;
  readonly #inflight = new Map<string, Promise<StoredCertificate>>();
  /** DNS-01's provider and settings; null for the challenges the board answers. */
  readonly #dns: { provider: DnsProvider; settings: Dns01Settings } | null;

  constructor(options: AcmeResolverOptions) {
    this.settings = options.settings;
    this.name = options.settings.name;
    this.storage = new AcmeStorage(join(options.dataDir, options.settings.storage), this.name);
    this.#board = options.board;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const challenge = options.settings.challenge;
    this.#dns =
      challenge.type === 'dns-01'
        ? { provider: options.dnsProvider ?? dnsProvider(challenge.providerSettings), settings: challenge }
        : null;
  }

  /**
   * The stored certificate for exactly these names and key type, from this resolver's current CA,
   * if it has not expired. A certificate from another caServer (staging before production) is not
   * reused: the next order replaces it.
   */
  async stored(
    domains: readonly string[],
    keyType: AcmeKeyType = this.settings.keyType,
  ): Promise<StoredCertificate | null> {
    const names = normaliseDomains(domains);
    const section = await this.#read(names);
    const now = this.#now();
    return (
      section.certificates.find(
        (c) =>
          c.keyType === keyType &&
          c.caServer === this.settings.caServer &&
          sameNames(c.domains, names) &&
          c.notAfter > now,
      ) ?? null
    );
  }

  /**
   * A valid certificate for `domains`: the stored one while it is outside its renewal window,
   * otherwise a new order. A restart with valid stored certificates orders nothing.
   */
  async ensureCertificate(
    domains: readonly string[],
    renewal: Partial<RenewalSettings> = {},
  ): Promise<StoredCertificate> {
    const current = await this.stored(domains);
    if (current) {
      const plan = renewalPlan(current, this.#now(), { renewBefore: this.settings.renewBefore, ...renewal });
      if (plan.at > this.#now()) return current;
    }
    return this.obtain(domains);
  }

  /**
   * The CA's suggested renewal window for `certificate` (ARI, RFC 9773) and when to ask again, or
   * null when the CA's directory offers no renewalInfo. Pass the window to `plan()` through the
   * certificate's `suggestedWindow`. A CA that offers ARI but cannot answer: AcmeError
   * BERTH_ACME_RENEWAL_INFO (the resolver's own window still applies).
   */
  async renewalInfo(certificate: StoredCertificate): Promise<RenewalInfo | null> {
    const names = certificate.domains;
    const timeoutMs = this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    try {
      const agent = await this.#agentFor(names);
      if (this.#renewalInfoUrl === null) {
        this.#renewalInfoUrl = renewalInfoUrl(this.settings.caServer, agent, timeoutMs);
        this.#renewalInfoUrl.catch(() => {
          this.#renewalInfoUrl = null;
        });
      }
      const base = await this.#renewalInfoUrl;
      if (base === null) return null;
      return await fetchRenewalInfo(base, ariCertId(certificate.certPem), agent, timeoutMs, this.#now);
    } catch (err) {
      if (err instanceof AcmeError) throw err;
      throw this.#error(
        AcmeErrorCodes.RENEWAL_INFO,
        names,
        `renewal information: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * When to attempt `certificate` (or a missing one) next, after `failures`; with the CA's ARI
   * window as `{...stored, suggestedWindow}` when `renewalInfo()` gave one.
   */
  plan(certificate: CertificateDates | null, failures: RenewalFailures | null = null) {
    return renewalPlan(certificate, this.#now(), { renewBefore: this.settings.renewBefore }, failures);
  }

  /**
   * Orders a certificate for `domains` (HTTP-01 or TLS-ALPN-01 through the board, DNS-01 through
   * the DNS provider), stores it 0600 and returns it.
   * A second call for the same names and key type while one runs shares its order.
   */
  obtain(
    domains: readonly string[],
    keyType: AcmeKeyType = this.settings.keyType,
  ): Promise<StoredCertificate> {
    const names = normaliseDomains(domains);
    const key = `${keyType} ${[...names].sort().join(',')}`;
    const running = this.#inflight.get(key);
    if (running) return running;
    const order = this.#order(names, keyType).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, order);
    return order;
  }

  async #order(names: string[], keyType: AcmeKeyType): Promise<StoredCertificate> {
    const type = this.settings.challenge.type;
    if (names.length === 0)
      throw this.#error(AcmeErrorCodes.ORDER_REFUSED, names, 'no domain to order a certificate for');
    const wildcard = names.find((n) => n.startsWith('*.'));
    if (wildcard && type !== 'dns-01')
      throw this.#error(
        AcmeErrorCodes.CHALLENGE_UNAVAILABLE,
        names,
        `${wildcard}: wildcard names need dnsChallenge (this resolver uses ${type})`,
      );

    const ctx = await this.#context(names);
    const client = await this.#run(ctx, names, 'account', () => this.#accountClient(names));
    const keyPem = await newCertificateKey(keyType);
    const [, csr] = await acme.crypto.createCsr({ commonName: names[0] as string, altNames: names }, keyPem);

    this.status.ordersPlaced++;
    const order = await this.#run(ctx, names, 'order', () =>
      client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) }),
    );
    const authorizations = await this.#run(ctx, names, 'order', () => client.getAuthorizations(order));
    const pending: { material: AnyChallenge; challenge: AcmeChallenge }[] = [];
    for (const authz of authorizations) {
      if (authz.status === 'valid') continue;
      const challenge = authz.challenges.find((c) => c.type === type);
      if (!challenge)
        throw this.#error(
          AcmeErrorCodes.CHALLENGE_UNAVAILABLE,
          names,
          `the CA offers no ${type} challenge for ${authz.identifier.value} (offered: ${authz.challenges.map((c) => c.type).join(', ')})`,
        );
      pending.push({ challenge, material: await this.#material(client, authz, challenge) });
    }

    try {
      await this.#presentAll(
        names,
        pending.map((p) => p.material),
      );
      for (const { challenge, material } of pending) {
        await this.#run(ctx, names, 'validate', () => client.completeChallenge(challenge), material.domain);
        await this.#run(ctx, names, 'validate', () => client.waitForValidStatus(challenge), material.domain);
      }
    } finally {
      // Withdrawn whatever happened: a failed order must not leave answers on the nodes or in DNS.
      await this.#withdrawAll(pending.map((p) => p.material));
    }

    const finalized = await this.#run(ctx, names, 'finalize', () => client.finalizeOrder(order, csr));
    const chainPem = await this.#run(ctx, names, 'finalize', () =>
      client.getCertificate(finalized, this.settings.preferredChain ?? undefined),
    );
    const leaf = new X509Certificate(chainPem);
    const certificate: StoredCertificate = {
      domains: names,
      keyType,
      caServer: this.settings.caServer,
      certPem: chainPem,
      keyPem,
      notBefore: Date.parse(leaf.validFrom),
      notAfter: Date.parse(leaf.validTo),
      issuedAt: new Date(this.#now()).toISOString(),
    };
    await this.#write(names, (section) => ({
      ...section,
      certificates: [
        ...section.certificates.filter((c) => !(c.keyType === keyType && sameNames(c.domains, names))),
        certificate,
      ],
    }));
    return certificate;
  }

  /** The answer to one authorization's challenge: all that differs between the challenge types. */
  async #material(
    client: acme.Client,
    authz: acme.Authorization,
    challenge: AcmeChallenge,
  ): Promise<AnyChallenge> {
    // token.thumbprint for every type: acme-client would hash dns-01's, and lego's RAW mode
    // hands the unhashed one to the DNS provider.
    const keyAuthorization = await client.getChallengeKeyAuthorization({ ...challenge, type: 'http-01' });
    const domain = authz.identifier.value;
    if (challenge.type === 'dns-01')
      return dns01Challenge(this.name, authz, challenge.token, keyAuthorization);
    // acme-client's types know no tls-alpn-01 challenge; the CA's has that type (chosen by it above).
    if (this.settings.challenge.type === 'tls-alpn-01') {
      // An EC key: acme-client's default is a fresh RSA 2048 key, seconds of CPU per challenge.
      const [keyPem, certPem] = await acme.crypto.createAlpnCertificate(
        authz,
        keyAuthorization,
        await newCertificateKey('EC256'),
      );
      return {
        type: 'tls-alpn-01',
        resolver: this.name,
        domain,
        certPem: certPem.toString(),
        keyPem: keyPem.toString(),
      };
    }
    return { type: 'http-01', resolver: this.name, domain, token: challenge.token, keyAuthorization };
  }

  /**
   * Publishes every answer before the CA is asked to check any: on the board (all at once), or
   * through the DNS provider (one call after another: a program or service editing one zone may
   * not cope with concurrent edits), then waits for the TXT records to be visible.
   */
  async #presentAll(names: string[], materials: AnyChallenge[]): Promise<void> {
    if (materials.length === 0) return;
    const type = this.settings.challenge.type;
    const dns = this.#dns;
    const timeoutMs = this.#options.presentTimeoutMs ?? DEFAULT_PRESENT_TIMEOUT_MS;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new Error(`not ${dns ? 'presented' : 'served everywhere'} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    const publish = async () => {
      if (dns === null) {
        await Promise.all(boardMaterials(materials).map((m) => this.#board.present(m, abort.signal)));
        return;
      }
      for (const m of dnsMaterials(materials)) await dns.provider.present(m, abort.signal);
    };
    try {
      await Promise.race([publish(), timeout]);
    } catch (err) {
      abort.abort();
      const message = (err as Error).message;
      throw dns
        ? this.#error(
            AcmeErrorCodes.DNS_PROVIDER,
            names,
            `dns-01 provider ${dns.provider.name}: ${message}`,
            {
              cause: err,
            },
          )
        : this.#error(
            AcmeErrorCodes.CHALLENGE_NOT_SERVED,
            names,
            `${type} challenge not served: ${message}`,
            {
              cause: err,
            },
          );
    } finally {
      clearTimeout(timer);
    }
    if (dns === null) return;
    try {
      await waitForTxtRecords(
        dnsMaterials(materials),
        dns.settings.resolvers,
        dns.settings.propagation,
        this.#options.txtLookup ? { lookup: this.#options.txtLookup } : {},
      );
    } catch (err) {
      if (!(err instanceof DnsPropagationError)) throw err;
      throw this.#error(AcmeErrorCodes.DNS_PROPAGATION, names, `dns-01: ${err.message}`, { cause: err });
    }
  }

  /** Withdraws every answer; failures are dropped (a stale answer is harmless, the order is over). */
  async #withdrawAll(materials: AnyChallenge[]): Promise<void> {
    const dns = this.#dns;
    if (dns === null) {
      await Promise.all(boardMaterials(materials).map((m) => this.#board.cleanup(m).catch(() => {})));
      return;
    }
    const timeoutMs = this.#options.presentTimeoutMs ?? DEFAULT_PRESENT_TIMEOUT_MS;
    for (const m of dnsMaterials(materials))
      await dns.provider.cleanup(m, AbortSignal.timeout(timeoutMs)).catch(() => {});
  }

  async #forgetAccount(names: string[]): Promise<void> {
    this.#client = null;
    const { caServer } = this.settings;
    await this.#write(names, (s) => {
      const { [caServer]: _lost, ...accounts } = s.accounts;
      const { [caServer]: _pending, ...pendingAccountKeys } = s.pendingAccountKeys ?? {};
      return { ...s, accounts, pendingAccountKeys };
    });
  }

  /** An acme-client Client with this resolver's account, registering it on first use per CA. */
  #accountClient(names: string[]): Promise<acme.Client> {
    if (this.#client === null) {
      this.#client = this.#loadAccount(names);
      // A failed registration is retried on the next order, not cached.
      this.#client.catch(() => {
        this.#client = null;
      });
    }
    return this.#client;
  }

  async #loadAccount(names: string[]): Promise<acme.Client> {
    const { caServer, email, eab } = this.settings;
    const polling = this.#options.polling ?? DEFAULT_POLLING;
    const section = await this.#read(names);
    let account: StoredAccount | undefined = section.accounts[caServer];
    const contact = email === null ? [] : [`mailto:${email}`];
    const make = (keyPem: string, url?: string) =>
      new acme.Client({
        directoryUrl: caServer,
        accountKey: keyPem,
        ...(url ? { accountUrl: url } : {}),
        ...(eab ? { externalAccountBinding: { kid: eab.kid, hmacKey: eab.hmacEncoded } } : {}),
        backoffAttempts: polling.attempts,
        backoffMin: polling.minMs,
        backoffMax: polling.maxMs,
      });
    if (account) {
      const client = make(account.keyPem, account.url);
      if (account.email !== email) {
        await client.updateAccount({ contact });
        const updated = { ...account, email };
        await this.#write(names, (s) => ({ ...s, accounts: { ...s.accounts, [caServer]: updated } }));
      }
      return client;
    }
    // The key is stored before registering: a crash in between re-registers the same key, which
    // the CA answers with the existing account.
    const pending = section.pendingAccountKeys?.[caServer];
    const keyPem = pending ?? (await newAccountKey());
    if (!pending)
      await this.#write(names, (s) => ({
        ...s,
        pendingAccountKeys: { ...s.pendingAccountKeys, [caServer]: keyPem },
      }));
    const client = make(keyPem);
    await client.createAccount({ termsOfServiceAgreed: true, contact });
    account = { keyPem, url: client.getAccountUrl(), email, createdAt: new Date(this.#now()).toISOString() };
    const registered = account;
    await this.#write(names, (s) => {
      const { [caServer]: _done, ...rest } = s.pendingAccountKeys ?? {};
      return { ...s, accounts: { ...s.accounts, [caServer]: registered }, pendingAccountKeys: rest };
    });
    return client;
  }

  /** Runs one step against the CA, classifying failures and retrying steps lost to bad nonces. */
  async #run<T>(
    ctx: AcmeCallContext,
    names: string[],
    step: 'account' | 'order' | 'validate' | 'finalize',
    fn: () => Promise<T>,
    domain?: string,
  ): Promise<T> {
    const retries = this.#options.badNonceRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      ctx.lastProblem = null;
      ctx.inFlight = null;
      try {
        return await withAcmeCalls(ctx, fn);
      } catch (err) {
        if (err instanceof AcmeError) throw err;
        // Set by the interceptors meanwhile (TypeScript still sees the null assigned above).
        const problem = ctx.lastProblem as AcmeCallContext['lastProblem'];
        const badNonce = problem?.type?.endsWith(':badNonce') === true;
        if (badNonce && attempt < retries) continue;
        const classified = await this.#classify(err, ctx, names, step, domain);
        // The CA lost or deactivated the account (a reset staging CA, a deactivation): forgotten,
        // so the next attempt registers a new one instead of failing the same way forever.
        if (step !== 'account' && problem?.type?.endsWith(':accountDoesNotExist')) {
          await this.#forgetAccount(names);
          classified.message += '; a new account is registered on the next attempt';
        }
        throw classified;
      }
    }
  }

  async #classify(
    err: unknown,
    ctx: AcmeCallContext,
    names: string[],
    step: 'account' | 'order' | 'validate' | 'finalize',
    domain: string | undefined,
  ): Promise<AcmeError> {
    const problem = ctx.lastProblem;
    const message = (err as Error)?.message ?? String(err);
    const extra = {
      problemType: problem?.type ?? null,
      retryAfterMs: problem?.retryAfterMs ?? null,
      cause: err,
    };
    const detail = problem
      ? `${problem.detail}${problem.type ? ` (${problem.type})` : ''}`
      : /pending or processing/.test(message)
        ? `the CA had not finished after ${this.#options.polling?.attempts ?? DEFAULT_POLLING.attempts} polls (${message})`
        : message;
    if (problem && (problem.status === 429 || problem.type?.endsWith(':rateLimited')))
      return this.#error(
        AcmeErrorCodes.RATE_LIMITED,
        names,
        `rate limited by the CA${problem.retryAfterMs !== null ? `, retry after ${Math.ceil(problem.retryAfterMs / 1000)} s` : ''}: ${detail}`,
        extra,
      );
    if (problem?.type?.endsWith(':badNonce'))
      return this.#error(AcmeErrorCodes.BAD_NONCE, names, `the CA kept rejecting nonces: ${detail}`, extra);
    if (ctx.inFlight !== null || (problem === null && isNetworkError(err))) {
      const agent = await this.#agentFor(names);
      const why = (await probeDirectory(this.settings.caServer, agent, 10_000)) ?? message;
      return this.#error(
        AcmeErrorCodes.CA_UNREACHABLE,
        names,
        `CA ${this.settings.caServer} unreachable (${ctx.inFlight ?? 'request'}): ${why}`,
        extra,
      );
    }
    if (problem !== null && problem.status >= 500)
      return this.#error(
        AcmeErrorCodes.ORDER_FAILED,
        names,
        `${step}: the CA answered HTTP ${problem.status}: ${detail}`,
        extra,
      );
    const codes: Record<typeof step, AcmeErrorCode> = {
      account: AcmeErrorCodes.ACCOUNT_REFUSED,
      order: AcmeErrorCodes.ORDER_REFUSED,
      validate: AcmeErrorCodes.CHALLENGE_FAILED,
      finalize: AcmeErrorCodes.ORDER_REFUSED,
    };
    if (problem === null && step !== 'validate')
      return this.#error(AcmeErrorCodes.ORDER_FAILED, names, `${step}: ${message}`, extra);
    const what =
      step === 'validate'
        ? `${this.settings.challenge.type} challenge for ${domain ?? names.join(', ')} failed`
        : step === 'account'
          ? 'account registration refused'
          : 'order refused';
    return this.#error(codes[step], names, `${what}: ${detail}`, extra);
  }

  async #context(names: string[]): Promise<AcmeCallContext> {
    return {
      agent: await this.#agentFor(names),
      timeoutMs: this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      lastProblem: null,
      inFlight: null,
    };
  }

  /** The HTTPS agent trusting `caCertificates` (plus system roots with caSystemCertPool); undefined: Node's defaults. */
  #agentFor(names: string[]): Promise<Agent | undefined> {
    if (this.#agent === null) {
      this.#agent = (async () => {
        const { caCertificates, caSystemCertPool } = this.settings;
        if (caCertificates.length === 0) return undefined;
        const pems = await Promise.all(
          caCertificates.map((path) =>
            readFile(path, 'utf8').catch((err: Error) => {
              throw this.#error(
                AcmeErrorCodes.CA_UNREACHABLE,
                names,
                `caCertificates: cannot read ${path}: ${err.message}`,
              );
            }),
          ),
        );
        return new Agent({ ca: [...(caSystemCertPool ? rootCertificates : []), ...pems], keepAlive: true });
      })();
      this.#agent.catch(() => {
        this.#agent = null;
      });
    }
    return this.#agent;
  }

  async #read(names: string[]) {
    try {
      return await this.storage.read();
    } catch (err) {
      throw this.#storageError(err, names);
    }
  }

  async #write(names: string[], change: Parameters<AcmeStorage['update']>[0]) {
    try {
      return await this.storage.update(change);
    } catch (err) {
      throw this.#storageError(err, names);
    }
  }

  #storageError(err: unknown, names: string[]): AcmeError {
    const message =
      err instanceof StorageUnreadableError
        ? err.message
        : `storage ${this.storage.path}: ${(err as Error).message}`;
    return this.#error(AcmeErrorCodes.STORAGE_UNREADABLE, names, message, { cause: err });
  }

  #error(
    code: AcmeErrorCode,
    names: readonly string[],
    detail: string,
    extra: ConstructorParameters<typeof AcmeError>[4] = {},
  ): AcmeError {
    return new AcmeError(code, this.name, names, detail, extra);
  }

  /** Closes kept-alive connections to the CA. */
  close(): void {
    void this.#agent?.then((agent) => agent?.destroy()).catch(() => {});
  }
}

function boardMaterials(materials: AnyChallenge[]): ChallengeMaterial[] {
  return materials.filter((m): m is ChallengeMaterial => m.type !== 'dns-01');
}

function dnsMaterials(materials: AnyChallenge[]): Dns01Challenge[] {
  return materials.filter((m): m is Dns01Challenge => m.type === 'dns-01');
}

/** Lower-case, no trailing dot, no duplicates; order kept (the first name is the main domain). */
export function normaliseDomains(domains: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of domains) {
    const name = d.trim().toLowerCase().replace(/\.$/, '');
    if (name !== '' && !out.includes(name)) out.push(name);
  }
  return out;
}

function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return (
    typeof code === 'string' &&
    /^(E[A-Z]+|ERR_TLS.*|UNABLE_TO.*|DEPTH_ZERO.*|SELF_SIGNED.*|CERT_.*)$/.test(code)
  );
}

async function newAccountKey(): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

async function newCertificateKey(keyType: AcmeKeyType): Promise<string> {
  const { privateKey } =
    keyType === 'EC256' || keyType === 'EC384'
      ? await generateKeyPairAsync('ec', { namedCurve: keyType === 'EC256' ? 'P-256' : 'P-384' })
      : await generateKeyPairAsync('rsa', { modulusLength: keyType === 'RSA2048' ? 2048 : 4096 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
