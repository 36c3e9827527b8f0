// The catalogue of configuration error codes and the one way to build a ConfigError.
import type { ConfigError, Source } from './model.js';

/** Stable codes: tools and tests match on these, so they never change once published. */
export const ConfigErrorCodes = {
  /** The rule text does not parse (bad token, missing parenthesis, empty rule). */
  RULE_SYNTAX: 'BERTH_CONFIG_RULE_SYNTAX',
  /** The rule calls a matcher Berth does not know. */
  RULE_UNKNOWN_MATCHER: 'BERTH_CONFIG_RULE_UNKNOWN_MATCHER',
  /** A matcher got the wrong number of arguments or an argument it cannot use. */
  RULE_ARGS: 'BERTH_CONFIG_RULE_ARGS',
  /**
   * Warning: a call Traefik v3 accepts that never matches, a v2 `{name:regex}` template read as v3
   * (`HostRegexp(\`{sub:[a-z]+}.example.com\`)`); the router is kept, as Traefik keeps it.
   */
  RULE_NEVER_MATCHES: 'BERTH_CONFIG_RULE_NEVER_MATCHES',
  /** Warning: a router `ruleSyntax` other than v2 and v3; its rule is read as v3, as Traefik does. */
  RULE_SYNTAX_VERSION: 'BERTH_CONFIG_RULE_SYNTAX_VERSION',
  /** A field the element does not have (often a typo). */
  UNKNOWN_FIELD: 'BERTH_CONFIG_UNKNOWN_FIELD',
  /** The same field written twice with different letter case. */
  DUPLICATE_FIELD: 'BERTH_CONFIG_DUPLICATE_FIELD',
  /** Valid Traefik configuration that Berth does not implement yet. */
  UNSUPPORTED: 'BERTH_CONFIG_UNSUPPORTED',
  /** A field Traefik v3 accepts and ignores (headers.sslRedirect...): a warning, nothing is dropped. */
  IGNORED_FIELD: 'BERTH_CONFIG_IGNORED_FIELD',
  /** A value of the wrong type or outside its range. */
  INVALID_TYPE: 'BERTH_CONFIG_INVALID_TYPE',
  /** A required field is missing or empty. */
  REQUIRED: 'BERTH_CONFIG_REQUIRED',
  /** A server URL that is not an absolute http:// or https:// URL with a host. */
  INVALID_URL: 'BERTH_CONFIG_INVALID_URL',
  /** An entry point address that is not `host:port`, `:port` or `[ipv6]:port`. */
  INVALID_ADDRESS: 'BERTH_CONFIG_INVALID_ADDRESS',
  /** A middleware sets no kind, or several (`stripPrefix` and `headers` in one). */
  MIDDLEWARE_KIND: 'BERTH_CONFIG_MIDDLEWARE_KIND',
  /** A service sets none of loadBalancer, weighted and mirroring, or several. */
  SERVICE_KIND: 'BERTH_CONFIG_SERVICE_KIND',
  /** A regular expression that RE2 (Go) would not accept or JavaScript cannot express. */
  INVALID_REGEX: 'BERTH_CONFIG_INVALID_REGEX',
  /** An htpasswd line that is not `user:hash` with a bcrypt, apr1 or SHA1 hash. */
  INVALID_HTPASSWD: 'BERTH_CONFIG_INVALID_HTPASSWD',
  /** A circuitBreaker expression that does not parse (the message names the column). */
  CIRCUIT_BREAKER_EXPRESSION: 'BERTH_CONFIG_CIRCUIT_BREAKER_EXPRESSION',
  /** An IP address or CIDR range that does not parse. */
  INVALID_CIDR: 'BERTH_CONFIG_INVALID_CIDR',
  // TCP and TLS configuration.
  /** A TCP rule matches on TLS facts (HostSNI with a name, HostSNIRegexp, ALPN) on a router without `tls`. */
  TCP_RULE_NEEDS_TLS: 'BERTH_CONFIG_TCP_RULE_NEEDS_TLS',
  /** A `cipherSuites` entry that is not a Go/IANA suite name Berth knows. */
  TLS_UNKNOWN_CIPHER: 'BERTH_CONFIG_TLS_UNKNOWN_CIPHER',
  /** `minVersion` above `maxVersion` in a TLS options entry. */
  TLS_VERSION_RANGE: 'BERTH_CONFIG_TLS_VERSION_RANGE',
  /** An entry point redirection `to` that names no entry point (and is not `:port`). */
  UNKNOWN_ENTRY_POINT: 'BERTH_CONFIG_UNKNOWN_ENTRY_POINT',
} as const;

export type ConfigErrorCode = (typeof ConfigErrorCodes)[keyof typeof ConfigErrorCodes];

/**
 * Problems with TLS material the controller finds when it reads and checks `tls.*` (files,
 * certificates, keys, option names). Their own `BERTH_TLS_` family: the certificate is fine as
 * configuration and broken as a certificate. Each leaves out only the element concerned.
 */
export const TlsErrorCodes = {
  /** A certificate or key file named by `tls.*` cannot be read; that certificate alone is left out. */
  TLS_CERT_READ: 'BERTH_TLS_CERT_READ',
  /** A certificate or key that is not parseable PEM; that certificate alone is left out. */
  TLS_CERT_INVALID: 'BERTH_TLS_CERT_INVALID',
  /** The private key does not belong to the certificate; that certificate alone is left out. */
  TLS_KEY_MISMATCH: 'BERTH_TLS_KEY_MISMATCH',
  /** The certificate expired (notAfter in the past); that certificate alone is left out. */
  TLS_CERT_EXPIRED: 'BERTH_TLS_CERT_EXPIRED',
  /** The certificate is not valid yet (notBefore in the future); that certificate alone is left out. */
  TLS_CERT_NOT_YET_VALID: 'BERTH_TLS_CERT_NOT_YET_VALID',
  /** A router or entry point names `tls.options` that are not defined (or were dropped). */
  TLS_OPTIONS_MISSING: 'BERTH_TLS_OPTIONS_MISSING',
} as const;

export type TlsErrorCode = (typeof TlsErrorCodes)[keyof typeof TlsErrorCodes];

/**
 * Builds a ConfigError, leaving `source` out entirely when unknown. Other packages report their
 * own codes through this too, hence any string is accepted while catalogue codes still autocomplete.
 */
export function configError(
  code: ConfigErrorCode | (string & Record<never, never>),
  path: string,
  message: string,
  source?: Source,
): ConfigError {
  return source === undefined ? { code, path, message } : { code, path, message, source };
}
