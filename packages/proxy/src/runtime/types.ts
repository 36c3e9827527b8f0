// The immutable routing state one snapshot compiles to; requests read it, nothing mutates it but balancers.
import type { RuleMatcher } from '@berth/config';
import type { Balancer } from '../balancer/balancer.js';
import type { Handler } from '../http/context.js';
import type { AcmeTlsAlpnAnswer } from '../tls/acme-tls-alpn.js';
import type { RouterTable } from './router-table.js';

/** Where ACME HTTP-01 answers live; entry points keep it reachable on :80 whatever they redirect. */
export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

/** One upstream server of a service. */
export interface ServerTarget {
  url: URL;
  /** `scheme://host:port`, the key connection pools are shared by. */
  origin: string;
  weight: number;
}

/**
 * A loadBalancer service as the raw HTTP/1.1 fast path serves it: plain-http servers, no sticky
 * sessions. The same balancer and health as its handler, without a request context.
 */
export interface DirectService {
  readonly name: string;
  readonly passHostHeader: boolean;
  readonly serversTransport: string | undefined;
  /**
   * Picks an available server, counted in flight until `done`; `undefined` when none may take
   * requests. `besides`: servers already tried for this request (a redispatch).
   */
  pick(besides?: readonly ServerTarget[]): ServerTarget | undefined;
  /** The exchange with `server` is over: `ok` feeds passive health; `undefined` (the client left) says nothing. */
  done(server: ServerTarget, ok: boolean | undefined): void;
}

export interface ServiceRuntime {
  name: string;
  /** `internal`: one the node provides itself (`ping@internal`...), see internal/internal-services.ts. */
  kind: 'loadBalancer' | 'weighted' | 'mirroring' | 'failover' | 'highestRandomWeight' | 'internal';
  /** A loadBalancer's servers; empty for services made of services. */
  servers: readonly ServerTarget[];
  /** A loadBalancer's balancer; one that never picks for the other kinds. */
  balancer: Balancer<ServerTarget>;
  /** Forward the client's Host header (Traefik's default) rather than the server's. */
  passHostHeader: boolean;
  /** Serves a request to the end: picks a server, forwards, records health. */
  handler: Handler;
  /** True when at least one server behind this service may take requests now. */
  available(): boolean;
  /** Set when the fast path can serve this service (see DirectService). */
  direct?: DirectService;
}

/** A router as an entry point's table holds it. */
export interface RouterEntry {
  name: string;
  service: string;
  priority: number;
  match: RuleMatcher;
  /** The router's middlewares and service composed; absent: the entry point balances and forwards itself. */
  handler?: Handler;
  /** No middleware and a direct service: the fast path may serve the router's plain HTTP/1.1 requests. */
  direct?: DirectService;
  /**
   * The router serves HTTPS (its own `tls`, or its entry point's `http.tls`): it matches only
   * requests that came over TLS, and a router without it only plain ones.
   */
  tls?: boolean;
}

/** A router that answers 503 (fails closed) because a middleware it uses cannot be built. */
export interface RuntimeProblem {
  router: string;
  middleware: string;
  /** `BERTH_PROXY_MIDDLEWARE_*`. */
  code: string;
  error: string;
}

export interface Runtime {
  /** Entry point name → address from the snapshot (`host:port`, `:port`). */
  entryPoints: ReadonlyMap<string, string>;
  /** Entry point name → its routers, highest priority first. */
  routers: ReadonlyMap<string, RouterTable>;
  services: ReadonlyMap<string, ServiceRuntime>;
  /** Every server origin the services reference, so unused connection pools can be retired. */
  origins: ReadonlySet<string>;
  /** Routers answering 503 because a middleware failed to build; every other router serves. */
  problems: readonly RuntimeProblem[];
  /**
   * ACME HTTP-01 answers by entry point, then token (at ACME_CHALLENGE_PREFIX + token): served
   * before any router or redirect. Absent when no order runs.
   */
  acmeHttp01?: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /**
   * ACME TLS-ALPN-01 answers by lower-case domain (the SNI the CA sends), their secure contexts
   * built with the runtime: every TLS entry point's front door answers a ClientHello offering
   * `acme-tls/1` for one of them before any TCP router or TLS termination. Absent when none.
   */
  acmeTlsAlpn01?: ReadonlyMap<string, AcmeTlsAlpnAnswer>;
}
