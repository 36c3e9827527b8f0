// Stable codes for everything ACME can get wrong: settings in the static file, and orders at run time.
// The API and `berth certs` report them per resolver and certificate; tests assert on them.

export const AcmeErrorCodes = {
  /** `certificatesResolvers` or one resolver is not a map, or a value has the wrong type/shape. */
  SETTING_INVALID: 'BERTH_ACME_SETTING_INVALID',
  /** A key neither Traefik nor Berth knows (a typo, most likely). */
  SETTING_UNKNOWN: 'BERTH_ACME_SETTING_UNKNOWN',
  /** A Traefik key Berth does not implement yet; the resolver works without it. */
  SETTING_UNSUPPORTED: 'BERTH_ACME_SETTING_UNSUPPORTED',
  /** None or several of httpChallenge, tlsChallenge, dnsChallenge. */
  CHALLENGE_CHOICE: 'BERTH_ACME_CHALLENGE_CHOICE',
  /** `storage` named a directory: the file is kept in the controller's data dir instead. */
  STORAGE_RELOCATED: 'BERTH_ACME_STORAGE_RELOCATED',
  /** The storage file exists but is not Berth's (a Traefik acme.json?) or is unreadable: left untouched. */
  STORAGE_UNREADABLE: 'BERTH_ACME_STORAGE_UNREADABLE',
  /** A router's `tls.certResolver` names no configured (valid) resolver. */
  RESOLVER_UNKNOWN: 'BERTH_ACME_RESOLVER_UNKNOWN',
  /** A router with a certResolver has neither `tls.domains` nor a Host(...) with a literal name. */
  NO_DOMAIN: 'BERTH_ACME_NO_DOMAIN',
  /** A name a CA cannot issue for, or a wildcard with a resolver that is not DNS-01. */
  DOMAIN_INVALID: 'BERTH_ACME_DOMAIN_INVALID',
  /** Warning: a certificate within 7 days of expiry that has not been renewed yet. */
  CERTIFICATE_EXPIRING: 'BERTH_ACME_CERTIFICATE_EXPIRING',
  /** The CA's directory cannot be reached (connection refused, DNS, TLS, timeout). */
  CA_UNREACHABLE: 'BERTH_ACME_CA_UNREACHABLE',
  /** The CA answered 429 / rateLimited; `retryAfterMs` says when it will talk again, when it said. */
  RATE_LIMITED: 'BERTH_ACME_RATE_LIMITED',
  /** The CA kept rejecting nonces after every retry. */
  BAD_NONCE: 'BERTH_ACME_BAD_NONCE',
  /** A node could not serve the challenge (the board rejected `present`). */
  CHALLENGE_NOT_SERVED: 'BERTH_ACME_CHALLENGE_NOT_SERVED',
  /** The CA tried the challenge and it failed (wrong answer, connection refused, DNS). */
  CHALLENGE_FAILED: 'BERTH_ACME_CHALLENGE_FAILED',
  /** The CA offers none of the challenge types this resolver answers. */
  CHALLENGE_UNAVAILABLE: 'BERTH_ACME_CHALLENGE_UNAVAILABLE',
  /** Account registration was refused (EAB missing or wrong, terms, malformed contact). */
  ACCOUNT_REFUSED: 'BERTH_ACME_ACCOUNT_REFUSED',
  /** The CA refused the order or the CSR (policy, rejectedIdentifier, malformed). */
  ORDER_REFUSED: 'BERTH_ACME_ORDER_REFUSED',
  /** `dnsChallenge.provider` names a provider Berth does not have (lego's others: use exec or httpreq). */
  DNS_PROVIDER_UNKNOWN: 'BERTH_ACME_DNS_PROVIDER_UNKNOWN',
  /** The DNS provider could not present the TXT record (program failed, endpoint refused, timeout). */
  DNS_PROVIDER: 'BERTH_ACME_DNS_PROVIDER',
  /** The TXT record did not appear at the resolvers in time; the message names the fqdn and resolvers. */
  DNS_PROPAGATION: 'BERTH_ACME_DNS_PROPAGATION',
  /** The CA offers ARI (RFC 9773) but its renewalInfo answer could not be had or read. */
  RENEWAL_INFO: 'BERTH_ACME_RENEWAL_INFO',
  /** Not raised any more (every challenge type is implemented); kept for callers that match on it. */
  CHALLENGE_TYPE_UNIMPLEMENTED: 'BERTH_ACME_CHALLENGE_TYPE_UNIMPLEMENTED',
  /** Anything else the CA or the client library reported. */
  ORDER_FAILED: 'BERTH_ACME_ORDER_FAILED',
} as const;

export type AcmeErrorCode = (typeof AcmeErrorCodes)[keyof typeof AcmeErrorCodes];

/** What went wrong with one resolver's order, named so an operator can act on it. */
export class AcmeError extends Error {
  override readonly name = 'AcmeError';
  readonly code: AcmeErrorCode;
  readonly resolver: string;
  readonly domains: readonly string[];
  /** The CA's problem type (`urn:ietf:params:acme:error:...`), when it sent one. */
  readonly problemType: string | null;
  /** The CA's Retry-After, in ms, when it sent one. */
  readonly retryAfterMs: number | null;

  constructor(
    code: AcmeErrorCode,
    resolver: string,
    domains: readonly string[],
    detail: string,
    extra: { problemType?: string | null; retryAfterMs?: number | null; cause?: unknown } = {},
  ) {
    super(
      `certificate resolver "${resolver}" (${domains.length > 0 ? domains.join(', ') : 'account'}): ${detail}`,
      extra.cause === undefined ? undefined : { cause: extra.cause },
    );
    this.code = code;
    this.resolver = resolver;
    this.domains = [...domains];
    this.problemType = extra.problemType ?? null;
    this.retryAfterMs = extra.retryAfterMs ?? null;
  }
}
