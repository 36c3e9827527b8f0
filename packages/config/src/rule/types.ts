// Shapes shared by the rule parser, the matcher registry and the proxy's router tables.

/** What a rule can look at in an HTTP request. Host is lower-case, without port. */
export interface RequestView {
  host: string;
  /** Decoded-as-received path, without the query string, always starting with `/`. */
  path: string;
  method: string;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Raw query string without the leading `?` (may be empty). */
  query: string;
  /** Client address (IPv4 or IPv6, no port). */
  clientIp: string;
}

export type RuleNode =
  | { kind: 'and'; left: RuleNode; right: RuleNode }
  | { kind: 'or'; left: RuleNode; right: RuleNode }
  | { kind: 'not'; operand: RuleNode }
  | { kind: 'call'; name: string; args: string[]; column: number };

export type RuleMatcher = (req: RequestView) => boolean;

/** What a TCP rule can look at: the connection, and the ClientHello when it is TLS. */
export interface ConnectionView {
  /** SNI, lower-case, no trailing dot; `''` when the connection is not TLS or sent none. */
  serverName: string;
  /** ALPN protocols the client offered (TLS only). */
  alpn: readonly string[];
  /** Client address (IPv4 or IPv6, no port). */
  clientIp: string;
  /** True when the connection starts with a TLS ClientHello. */
  tls: boolean;
}

/** A compiled TCP rule (`HostSNI`, `HostSNIRegexp`, `ClientIP`, `ALPN`). */
export interface CompiledTcpRule {
  match: (conn: ConnectionView) => boolean;
  /** Exact server names every match is bound to, or null (a `HostSNI(\`*\`)`, a regexp, a negation...). */
  hosts: string[] | null;
  /** True when the rule is `HostSNI(\`*\`)` alone: it matches every connection, TLS or not. */
  catchAll: boolean;
}

export interface RuleError {
  /**
   * `BERTH_CONFIG_RULE_SYNTAX`, `BERTH_CONFIG_RULE_UNKNOWN_MATCHER` or `BERTH_CONFIG_RULE_ARGS`;
   * for a warning, `BERTH_CONFIG_RULE_NEVER_MATCHES`.
   */
  code: string;
  message: string;
  /** 1-based column in the rule text where the problem starts. */
  column: number;
}

/** `v2`: Traefik v2's matchers (`Headers`, `{name:regex}` templates...), as Traefik v3's `ruleSyntax: v2`. */
export type RuleSyntax = 'v2' | 'v3';

export type ParseResult =
  | {
      ok: true;
      ast: RuleNode;
      /** Accepted calls that will not do what they seem to (a v2 template under v3), in reading order. */
      warnings?: RuleError[];
    }
  | { ok: false; error: RuleError };

/** A compiled rule: the matcher plus what an index needs to find it quickly. */
export interface CompiledRule {
  match: RuleMatcher;
  /**
   * Host names every match is bound to (lower-case; may start with `*.`), or `null` when the
   * rule can match any host (no Host matcher on every branch, or a negated Host).
   */
  hosts: string[] | null;
  /**
   * The wildcard tier of the host index: domain suffixes (`.example.com`, lower-case, leading dot)
   * every match is bound to, when the rule is not bound to exact hosts but only to `HostRegexp`
   * patterns with a literal domain suffix; `null` (or absent) otherwise.
   */
  hostSuffixes?: string[] | null;
}
