// The Traefik-shaped dynamic configuration and Berth's static settings, as plain data.
import type { RuleSyntax } from './rule/types.js';

/** Where a piece of configuration came from: a file and line, or a container and label. */
export interface Source {
  /** Provider kind: `file`, `docker`, `internal`. */
  provider: string;
  /** File path, or container name. */
  origin: string;
  /** 1-based line in a file, when known. */
  line?: number;
  /** Docker label key, when the source is a label. */
  label?: string;
}

/**
 * Durations are kept as written after validation normalised them to Go-style strings
 * (`"10s"`, `"1m30s"`, `"250ms"`; a bare number in the input means seconds). Read them with
 * `parseDuration` (milliseconds).
 */
export type Duration = string;

export interface HttpRouter {
  rule: string;
  service: string;
  entryPoints?: string[];
  /** Names of `http.middlewares`, applied in order. */
  middlewares?: string[];
  /** 0 or absent: the rule's length, as Traefik does. */
  priority?: number;
  /**
   * Absent: the static `core.defaultRuleSyntax` (v3 unless set). `v2`: Traefik v2's matchers. As
   * Traefik, any other value written (`default`, a typo) reads the rule as v3, with a warning.
   */
  ruleSyntax?: RuleSyntax;
  /**
   * Present (even `{}`): the router serves HTTPS only, on TLS connections; absent: plain HTTP only
   * (unless its entry point sets `http.tls`). As Traefik.
   */
  tls?: RouterTls;
  /**
   * Set by the compiler, never read from users: a middleware of the router cannot be built, so it
   * answers 503 naming `code` rather than be dropped and let its requests reach another router.
   * Such a router has no `middlewares`, and its `service` may not exist.
   */
  failClosed?: FailClosed;
}

/** Why a router answers 503 (see HttpRouter.failClosed). */
export interface FailClosed {
  /** A stable error code, e.g. `BERTH_CONFIG_INVALID_HTPASSWD`. */
  code: string;
  message: string;
}

/** `tls` of an HTTP router, a TCP router or an entry point (`http.tls`). */
export interface RouterTls {
  /** Name of a `tls.options` entry (default: `default`). */
  options?: string;
  /** ACME resolver (the ACME issue); kept and reported, unused by the data plane. */
  certResolver?: string;
  domains?: { main?: string; sans?: string[] }[];
}

export interface HttpServer {
  url: string;
  weight?: number;
  /** Keep the path of `url` as a prefix of the forwarded path. */
  preservePath?: boolean;
}

export interface StickyCookie {
  /** Default: a name derived from the service (`_` + sha1 prefix), as Traefik does. */
  name?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'none' | 'lax' | 'strict' | '';
  /** Seconds; 0 or absent: a session cookie; negative: expire now. */
  maxAge?: number;
  path?: string;
  domain?: string;
}

export interface Sticky {
  cookie?: StickyCookie;
}

export interface HttpHealthCheck {
  /** `http` (default) or `https`; default is the server URL's scheme. `h2c`: plain text (gRPC). */
  scheme?: string;
  /** `http` (default) or `grpc`: the gRPC health checking protocol, healthy when SERVING. */
  mode?: 'http' | 'grpc';
  path?: string;
  method?: string;
  /** Port to probe instead of the server's. */
  port?: number;
  /** Host header of the probe. */
  hostname?: string;
  headers?: Record<string, string>;
  interval?: Duration;
  /** Interval while the server is down (default: `interval`). */
  unhealthyInterval?: Duration;
  timeout?: Duration;
  followRedirects?: boolean;
  /**
   * Expected status: one code (`"200"`), ranges and lists (`"200-299,304"`), or a class (`"2xx"`).
   * Default: 2xx and 3xx, as Traefik. Validation turns Traefik's integer `status` into this string.
   */
  status?: string;
}

export interface PassiveHealthCheck {
  /** Failures within this window count (default `10s`). */
  failureWindow?: Duration;
  /** Consecutive failures (errors or 5xx) that eject a server (default 1, as Traefik). */
  maxFailedAttempts?: number;
  /** First ejection time; doubles on each ejection in a row up to `maxEjectTime` (Berth). */
  ejectTime?: Duration;
  maxEjectTime?: Duration;
}

export interface HttpLoadBalancer {
  servers: HttpServer[];
  /**
   * `wrr` (smooth weighted round robin, default), `p2c` (power of two choices on in-flight
   * requests) or `hrw` (highest random weight on the client IP: each client keeps its server).
   */
  strategy?: 'wrr' | 'p2c' | 'hrw';
  passHostHeader?: boolean;
  sticky?: Sticky;
  healthCheck?: HttpHealthCheck;
  passiveHealthCheck?: PassiveHealthCheck;
  /** Name of an `http.serversTransports` entry. */
  serversTransport?: string;
  responseForwarding?: { flushInterval?: Duration };
}

/** Traefik's `healthCheck: {}` on services of services; Berth always follows child health. */
export type ServiceHealthCheck = Record<string, never>;

export interface WeightedService {
  services: { name: string; weight?: number }[];
  sticky?: Sticky;
  healthCheck?: ServiceHealthCheck;
}

/** Rendezvous hashing of the client IP over child services: each client stays on one child. */
export interface HighestRandomWeightService {
  services: { name: string; weight?: number }[];
  healthCheck?: ServiceHealthCheck;
}

/** Every request to `service` while it has an available server, else to `fallback`. */
export interface FailoverService {
  service: string;
  fallback: string;
  healthCheck?: ServiceHealthCheck;
}

export interface MirroringService {
  service: string;
  mirrors: { name: string; percent?: number }[];
  /** Mirror the request body too (default true) up to `maxBodySize` bytes (-1: unlimited). */
  mirrorBody?: boolean;
  maxBodySize?: number;
  healthCheck?: ServiceHealthCheck;
}

/** Exactly one of the kinds is set. */
export interface HttpService {
  loadBalancer?: HttpLoadBalancer;
  weighted?: WeightedService;
  mirroring?: MirroringService;
  failover?: FailoverService;
  highestRandomWeight?: HighestRandomWeightService;
}

export interface IpStrategy {
  /** Take the client IP this many entries from the right of X-Forwarded-For (0: the peer). */
  depth?: number;
  excludedIPs?: string[];
}

export interface SourceCriterion {
  ipStrategy?: IpStrategy;
  requestHeaderName?: string;
  requestHost?: boolean;
}

export interface HeadersMiddleware {
  customRequestHeaders?: Record<string, string>;
  customResponseHeaders?: Record<string, string>;
  accessControlAllowCredentials?: boolean;
  accessControlAllowHeaders?: string[];
  accessControlAllowMethods?: string[];
  accessControlAllowOriginList?: string[];
  accessControlAllowOriginListRegex?: string[];
  accessControlExposeHeaders?: string[];
  accessControlMaxAge?: number;
  addVaryHeader?: boolean;
  allowedHosts?: string[];
  hostsProxyHeaders?: string[];
  sslProxyHeaders?: Record<string, string>;
  stsSeconds?: number;
  stsIncludeSubdomains?: boolean;
  stsPreload?: boolean;
  forceSTSHeader?: boolean;
  frameDeny?: boolean;
  customFrameOptionsValue?: string;
  contentTypeNosniff?: boolean;
  browserXssFilter?: boolean;
  customBrowserXSSValue?: string;
  contentSecurityPolicy?: string;
  contentSecurityPolicyReportOnly?: string;
  publicKey?: string;
  referrerPolicy?: string;
  permissionsPolicy?: string;
  isDevelopment?: boolean;
}

/** Traefik v3's `rateLimit.redis`, plus Berth's `failOpen`. */
export interface RateLimitRedis {
  /** `host:port` (default `localhost:6379`); tried in order. Redis Cluster is not supported. */
  endpoints?: string[];
  /** `ca`, `cert`, `key`: file paths or inline PEM; the controller replaces paths by the files' PEM text. */
  tls?: { ca?: string; cert?: string; key?: string; insecureSkipVerify?: boolean };
  username?: string;
  password?: string;
  db?: number;
  poolSize?: number;
  minIdleConns?: number;
  maxActiveConns?: number;
  readTimeout?: Duration;
  writeTimeout?: Duration;
  dialTimeout?: Duration;
  /** Berth: when Redis cannot be asked, let requests through (true) or answer 500 as Traefik does (false, the default). */
  failOpen?: boolean;
}

/** Asks an HTTP server whether a request may pass (Traefik's forwardAuth). */
export interface ForwardAuthMiddleware {
  address: string;
  /** `ca`, `cert`, `key`: file paths or inline PEM; the controller replaces paths by the files' PEM text. */
  tls?: { ca?: string; cert?: string; key?: string; insecureSkipVerify?: boolean };
  trustForwardHeader?: boolean;
  authResponseHeaders?: string[];
  authResponseHeadersRegex?: string;
  authRequestHeaders?: string[];
  addAuthCookiesToResponse?: string[];
  headerField?: string;
  forwardBody?: boolean;
  /** Bytes of request body sent to the auth server (-1: unlimited). */
  maxBodySize?: number;
  /** Bytes of auth server response read (-1: unlimited; Berth's default is bounded). */
  maxResponseBodySize?: number;
  preserveLocationHeader?: boolean;
  preserveRequestMethod?: boolean;
  authSigninURL?: string;
}

export interface TlsClientCertDnInfo {
  country?: boolean;
  province?: boolean;
  locality?: boolean;
  organization?: boolean;
  organizationalUnit?: boolean;
  commonName?: boolean;
  serialNumber?: boolean;
  domainComponent?: boolean;
}

export interface TlsClientCertInfo {
  notAfter?: boolean;
  notBefore?: boolean;
  sans?: boolean;
  serialNumber?: boolean;
  subject?: TlsClientCertDnInfo;
  issuer?: TlsClientCertDnInfo;
}

/** Exactly one kind is set. Traefik's v2 name `ipWhiteList` is read as `ipAllowList`. */
export interface HttpMiddleware {
  redirectScheme?: { scheme?: string; port?: string; permanent?: boolean };
  redirectRegex?: { regex: string; replacement: string; permanent?: boolean };
  stripPrefix?: { prefixes: string[]; forceSlash?: boolean };
  stripPrefixRegex?: { regex: string[] };
  addPrefix?: { prefix: string };
  replacePath?: { path: string };
  replacePathRegex?: { regex: string; replacement: string };
  headers?: HeadersMiddleware;
  /** `users` are htpasswd lines (bcrypt, apr1 MD5, SHA1); `usersFile` is read by the controller. */
  basicAuth?: {
    users?: string[];
    usersFile?: string;
    realm?: string;
    removeHeader?: boolean;
    headerField?: string;
  };
  ipAllowList?: { sourceRange: string[]; ipStrategy?: IpStrategy; rejectStatusCode?: number };
  /** `users` are htdigest lines `user:realm:md5(user:realm:password)`; `usersFile` is read by the controller. */
  digestAuth?: {
    users?: string[];
    usersFile?: string;
    realm?: string;
    removeHeader?: boolean;
    headerField?: string;
  };
  forwardAuth?: ForwardAuthMiddleware;
  passTLSClientCert?: { pem?: boolean; info?: TlsClientCertInfo };
  /** `average` requests per `period` (default 1s), bursts of `burst`, per source. */
  rateLimit?: {
    average?: number;
    period?: Duration;
    burst?: number;
    sourceCriterion?: SourceCriterion;
    /** One bucket per source shared through Redis by every worker of every node (Traefik v3). */
    redis?: RateLimitRedis;
  };
  inFlightReq?: { amount: number; sourceCriterion?: SourceCriterion };
  retry?: { attempts: number; initialInterval?: Duration };
  compress?: {
    excludedContentTypes?: string[];
    includedContentTypes?: string[];
    minResponseBodyBytes?: number;
    /** Preference order; default `["zstd", "br", "gzip"]` (zstd only where Node has it). */
    encodings?: string[];
    defaultEncoding?: string;
  };
  buffering?: {
    maxRequestBodyBytes?: number;
    memRequestBodyBytes?: number;
    maxResponseBodyBytes?: number;
    memResponseBodyBytes?: number;
  };
  chain?: { middlewares: string[] };
  /**
   * Custom error pages: a response whose status is in `status` is replaced by the answer of
   * `service` to a GET of `query` (`{status}`, `{originalStatus}`, `{url}` replaced), sent with
   * the status (after `statusRewrites`). As Traefik's `errors`.
   */
  errors?: {
    /** Codes and ranges (`"404"`, `"500-599"`), normalised to one spec each. */
    status: string[];
    /** Range (`"418"`, `"500-599"`) → status sent instead. */
    statusRewrites?: Record<string, number>;
    service: string;
    query?: string;
    /** Request headers copied to the error page request; absent: all of them, `[]`: none. */
    errorRequestHeaders?: string[];
  };
  /**
   * Answers `responseCode` instead of calling the next handler while `expression` holds, measured
   * on a rolling window per middleware and worker. As Traefik's `circuitBreaker` (oxy).
   */
  circuitBreaker?: {
    expression: string;
    checkPeriod?: Duration;
    fallbackDuration?: Duration;
    recoveryDuration?: Duration;
    responseCode?: number;
  };
  /** Sets a Content-Type the upstream left out, sniffed from the body (Go's rules); `autoDetect: false`: off. */
  contentType?: { autoDetect?: boolean };
  /**
   * Translates gRPC-Web requests (browsers) to gRPC for the server, and the answer's trailers back
   * into the body; CORS for `allowOrigins` (`*`: any). As Traefik's (improbable-eng's wrapper).
   */
  grpcWeb?: { allowOrigins?: string[] };
}

export interface ForwardingTimeouts {
  dialTimeout?: Duration;
  responseHeaderTimeout?: Duration;
  idleConnTimeout?: Duration;
}

export interface ServersTransport {
  serverName?: string;
  insecureSkipVerify?: boolean;
  /** PEM file paths or inline PEM, resolved by the controller into `rootCAs` PEM text. */
  rootCAs?: string[];
  /** File paths or inline PEM; the controller replaces paths by the files' PEM text before publishing. */
  certificates?: { certFile: string; keyFile: string }[];
  /** Go/IANA names of the TLS 1.2 and older suites offered to servers (TLS 1.3 suites are fixed). */
  cipherSuites?: string[];
  minVersion?: TlsVersionName;
  maxVersion?: TlsVersionName;
  maxIdleConnsPerHost?: number;
  /** HTTP/1.1 only to `https://` servers; otherwise HTTP/2 is offered (ALPN), as in Traefik. */
  disableHTTP2?: boolean;
  /** Berth: at most this many connections to one server (0: unlimited). */
  maxConnsPerHost?: number;
  forwardingTimeouts?: ForwardingTimeouts;
  /**
   * Berth: send a PROXY protocol header on every connection to the servers, carrying the client's
   * address. Such connections are never shared between clients.
   */
  proxyProtocol?: ProxyProtocolSend;
}

export interface ProxyProtocolSend {
  /** 1 (text) or 2 (binary, default). */
  version?: 1 | 2;
}

// ---------------------------------------------------------------- TCP (dynamic `tcp.*`)

export interface TcpRouterTls extends RouterTls {
  /** Forward the TLS bytes untouched (the server holds the key); routed by SNI from the ClientHello. */
  passthrough?: boolean;
}

/**
 * Rule matchers: `HostSNI(...)` (`*` matches every connection, TLS or not), `HostSNIRegexp(...)`,
 * `ClientIP(...)`, `ALPN(...)`, with `&&`, `||`, `!`, parentheses.
 */
export interface TcpRouter {
  rule: string;
  service: string;
  entryPoints?: string[];
  middlewares?: string[];
  /** 0 or absent: the rule's length, as Traefik does. */
  priority?: number;
  /** As HttpRouter.ruleSyntax: v2's HostSNI, HostSNIRegexp (templates), ClientIP and ALPN take several arguments. */
  ruleSyntax?: RuleSyntax;
  /** Present: the router matches TLS connections (terminated here, unless `passthrough`). */
  tls?: TcpRouterTls;
}

export interface TcpServer {
  /** `host:port`. */
  address: string;
  weight?: number;
  /** Dial the server with TLS (re-encryption), configured by the service's serversTransport. */
  tls?: boolean;
}

/** TCP health check: connect (and optionally send `send` and expect `expect` in the reply). */
export interface TcpHealthCheck {
  port?: number;
  send?: string;
  expect?: string;
  interval?: Duration;
  unhealthyInterval?: Duration;
  timeout?: Duration;
}

export interface TcpLoadBalancer {
  servers: TcpServer[];
  /** Name of a `tcp.serversTransports` entry. */
  serversTransport?: string;
  /** Traefik v2 place of the setting; `serversTransport.proxyProtocol` wins when both are set. */
  proxyProtocol?: ProxyProtocolSend;
  /** Milliseconds, Traefik v2 place; after one side half-closes, the other gets this long (default 100; <0: forever). */
  terminationDelay?: number;
  healthCheck?: TcpHealthCheck;
}

/** Exactly one of the kinds is set. */
export interface TcpService {
  loadBalancer?: TcpLoadBalancer;
  weighted?: { services: { name: string; weight?: number }[]; healthCheck?: ServiceHealthCheck };
}

/** Exactly one kind is set. `ipWhiteList` is read as `ipAllowList`. */
export interface TcpMiddleware {
  ipAllowList?: { sourceRange: string[] };
  /** At most `amount` simultaneous connections per client IP. */
  inFlightConn?: { amount: number };
}

export interface TcpServersTransport {
  dialTimeout?: Duration;
  dialKeepAlive?: Duration;
  /** After one side half-closes, the other gets this long before the connection is cut (default 100ms). */
  terminationDelay?: Duration;
  proxyProtocol?: ProxyProtocolSend;
  /** Used for servers with `tls: true`. */
  tls?: {
    serverName?: string;
    insecureSkipVerify?: boolean;
    rootCAs?: string[];
    certificates?: { certFile: string; keyFile: string }[];
  };
  /** Berth: close a connection with no bytes either way for this long (default 1h, like HAProxy's `timeout tunnel`; 0: never). */
  idleTimeout?: Duration;
}

export interface TcpConfig {
  routers: Record<string, TcpRouter>;
  services: Record<string, TcpService>;
  middlewares?: Record<string, TcpMiddleware>;
  serversTransports?: Record<string, TcpServersTransport>;
}

// ---------------------------------------------------------------- UDP (dynamic `udp.*`)

/** UDP has no rule: an entry point serves one UDP router (Traefik takes the greatest name). */
export interface UdpRouter {
  service: string;
  /** Absent or empty: every UDP entry point. */
  entryPoints?: string[];
}

export interface UdpServer {
  /** `host:port`. */
  address: string;
}

/** Exactly one kind is set. New client sessions are spread by weighted round robin. */
export interface UdpService {
  loadBalancer?: { servers: UdpServer[] };
  weighted?: { services: { name: string; weight?: number }[] };
}

export interface UdpConfig {
  routers: Record<string, UdpRouter>;
  services: Record<string, UdpService>;
}

// ---------------------------------------------------------------- TLS (dynamic `tls.*`)

/** `certFile`/`keyFile`: a path or inline PEM, as Traefik. */
export interface TlsCertificate {
  certFile: string;
  keyFile: string;
  /** Stores the certificate belongs to (default `["default"]`). */
  stores?: string[];
}

export type TlsVersionName = 'VersionTLS10' | 'VersionTLS11' | 'VersionTLS12' | 'VersionTLS13';

export type ClientAuthType =
  | 'NoClientCert'
  | 'RequestClientCert'
  | 'RequireAnyClientCert'
  | 'VerifyClientCertIfGiven'
  | 'RequireAndVerifyClientCert';

/** One `tls.options` entry. Names as Go and Traefik write them. */
export interface TlsOptions {
  minVersion?: TlsVersionName;
  maxVersion?: TlsVersionName;
  /** IANA names, `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`; TLS 1.3 suites are always allowed. */
  cipherSuites?: string[];
  /** `CurveP256`, `CurveP384`, `CurveP521`, `X25519` (also `secp256r1`-style names). */
  curvePreferences?: string[];
  /** Refuse a handshake whose SNI matches no certificate (instead of serving the default one). */
  sniStrict?: boolean;
  /** Default `["h2", "http/1.1"]`. */
  alpnProtocols?: string[];
  /** `caFiles`: paths or inline PEM, resolved by the controller. */
  clientAuth?: { caFiles?: string[]; clientAuthType?: ClientAuthType };
  disableSessionTickets?: boolean;
  /** Traefik v2 field, accepted and ignored (TLS 1.3 has no such thing; Node prefers the server's order). */
  preferServerCipherSuites?: boolean;
}

export interface TlsStore {
  defaultCertificate?: { certFile: string; keyFile: string };
  defaultGeneratedCert?: { resolver: string; domain?: { main?: string; sans?: string[] } };
}

export interface TlsConfig {
  certificates?: TlsCertificate[];
  options?: Record<string, TlsOptions>;
  stores?: Record<string, TlsStore>;
}

export interface HttpConfig {
  routers: Record<string, HttpRouter>;
  services: Record<string, HttpService>;
  middlewares?: Record<string, HttpMiddleware>;
  serversTransports?: Record<string, ServersTransport>;
}

/** The dynamic configuration one provider (or the merge of all of them) produces. */
export interface DynamicConfig {
  http: HttpConfig;
  tcp?: TcpConfig;
  udp?: UdpConfig;
  tls?: TlsConfig;
}

export interface EntryPoint {
  /** `host:port` or `:port` (all interfaces), optionally `/tcp` (the default) or `/udp`. */
  address: string;
  /** UDP entry points: a client session with no datagram either way for `timeout` (default 3s) is closed. */
  udp?: { timeout?: Duration };
  /** Routers without `entryPoints` go to the entry points flagged so (Traefik v3); none flagged: all but `traefik`. */
  asDefault?: boolean;
  transport?: {
    respondingTimeouts?: {
      /** Whole request, headers and body, from the client (default 60s; 0: none). */
      readTimeout?: Duration;
      /** Whole response to the client (default 0: none). */
      writeTimeout?: Duration;
      /** Keep-alive connection idle time (default 180s). */
      idleTimeout?: Duration;
    };
    lifeCycle?: {
      /** How long in-flight requests may finish when the entry point closes (default 10s). */
      graceTimeOut?: Duration;
    };
  };
  forwardedHeaders?: {
    /** Clients (CIDRs) whose X-Forwarded-* headers are kept; others' are overwritten. */
    trustedIPs?: string[];
    insecure?: boolean;
  };
  /** HTTP/2 on TLS connections of this entry point. */
  http2?: {
    /** Streams a client may have open at once on one connection (default 250, as Traefik). */
    maxConcurrentStreams?: number;
    /**
     * Liveness of connections with open streams (as Go's ReadIdleTimeout/PingTimeout and Envoy's
     * connection_keepalive): after `interval` (default 30s; 0: off) without a byte from the client a
     * PING is sent, and the connection, its streams and their upstream requests are closed when no
     * answer comes within `timeout` (default 15s). Connections without streams are never pinged.
     */
    keepAlive?: { interval?: Duration; timeout?: Duration };
  };
  /** Accept PROXY protocol v1/v2 headers, only from these sources; a header from elsewhere is refused. */
  proxyProtocol?: { trustedIPs?: string[]; insecure?: boolean };
  http?: {
    /** Redirect every request on this entry point to another one (e.g. `web` → `websecure`). */
    redirections?: {
      entryPoint?: {
        /** Entry point name (its port is used) or `:port`. */
        to: string;
        /** Default `https`. */
        scheme?: string;
        /** Default true (301/308). */
        permanent?: boolean;
        /** Priority of the redirecting catch-all router (default: lowest). */
        priority?: number;
      };
    };
    /** Every HTTP router on this entry point serves TLS, with these settings unless the router has its own. */
    tls?: RouterTls;
    /** Largest request head (request line plus headers), bytes (default 64 KiB); a bigger one gets 431. */
    maxHeaderBytes?: number;
    /** Most header lines a request may carry (default 100); one with more gets 431 and is not forwarded. */
    maxHeaderCount?: number;
    /** Middlewares applied to every router on this entry point, before the router's own. */
    middlewares?: string[];
  };
}

/** Controller-wide TLS settings, pushed to every node. */
export interface StaticTlsSettings {
  /** Cipher profile of the `default` TLS options when the dynamic config does not define them (default `strict`). */
  defaultProfile?: 'strict' | 'compatible';
  /** How often the session ticket keys shared by all nodes rotate (default 12h). */
  sessionTicketRotation?: Duration;
}

export interface AccessLogSettings {
  enabled?: boolean;
  /** Fraction of requests logged, 0..1 (default 1). Errors (5xx) are always logged. */
  sampling?: number;
}

/** Settings owned by the controller and pushed to every node inside each snapshot. */
export interface StaticConfig {
  entryPoints: Record<string, EntryPoint>;
  accessLog?: AccessLogSettings;
  /** When a route is removed, its open WebSockets and streams close after this (default 30s). */
  routeRemovalGrace?: Duration;
  tls?: StaticTlsSettings;
  core?: CoreSettings;
}

/** Traefik's static `core` section. */
export interface CoreSettings {
  /** The syntax of rules whose router sets no `ruleSyntax` (default v3), as Traefik's `core.defaultRuleSyntax`. */
  defaultRuleSyntax?: RuleSyntax;
}

// ---------------------------------------------------------------- resolved by the controller

/**
 * A certificate as it travels in a snapshot: PEM text (never a path), checked by the controller
 * (key matches, not expired, parseable), with the names it serves.
 */
export interface ResolvedCertificate {
  /** Leaf first, then the chain. */
  certPem: string;
  keyPem: string;
  /** DNS names from the SANs (or the CN when there are none), lower-case; may start with `*.`. */
  names: string[];
  /** ISO 8601. */
  notAfter: string;
  stores: string[];
  /** DER OCSP response (base64) to staple, fetched and refreshed by the controller. */
  ocspResponse?: string;
  /** `file` / `default` (generated by the controller) / `acme`. */
  origin: string;
  source?: Source;
}

/** The `tls` section of a snapshot body. */
export interface ResolvedTls {
  certificates: ResolvedCertificate[];
  /** The `default` store's default certificate: the configured one, else one the controller generated. */
  defaultCertificate: ResolvedCertificate;
  /**
   * Every usable TLS options entry by name, `default`, `strict` and `compatible` always present.
   * `clientAuth.caFiles` hold PEM text.
   */
  options: Record<string, TlsOptions>;
  /** 48-byte keys, base64; the first encrypts new tickets, the others still decrypt. Shared by all nodes. */
  sessionTicketKeys: string[];
}

/** One problem found in user configuration. Never thrown: collected and reported. */
export interface ConfigError {
  /** Stable code from the catalogue, e.g. `BERTH_CONFIG_RULE_SYNTAX`. */
  code: string;
  /** Dotted path of the offending element, e.g. `http.routers.web.rule`. */
  path: string;
  message: string;
  source?: Source;
  /**
   * Absent: an error (the element concerned is dropped). `warning`: told, never acted on; the
   * element works without what the warning names.
   */
  severity?: 'warning';
}

export function emptyDynamicConfig(): DynamicConfig {
  return { http: { routers: {}, services: {} } };
}
