// The controller's catalogue of stable error codes; users, logs and the API match on these, so never rename one.

export const ErrorCodes = {
  /** A YAML file could not be parsed; the file's last good configuration stays in force. */
  FILE_PARSE: 'BERTH_FILE_PARSE',
  /** A file's Go template (Traefik renders dynamic files before YAML) fails to render; the file's last good configuration stays in force. */
  FILE_TEMPLATE: 'BERTH_FILE_TEMPLATE',
  /** A file's Go template uses a construct beyond Berth's subset (named templates, an unimplemented function). */
  FILE_TEMPLATE_UNSUPPORTED: 'BERTH_FILE_TEMPLATE_UNSUPPORTED',
  /** The configured file or directory does not exist (yet); it is picked up when it appears. */
  FILE_MISSING: 'BERTH_FILE_MISSING',
  /** A file exists but could not be read (permissions, I/O); its last good configuration stays in force. */
  FILE_READ: 'BERTH_FILE_READ',
  /** Two sources define the same router or service differently; it is dropped. */
  CONFIG_CONFLICT: 'BERTH_CONFIG_CONFLICT',
  /** An element's name contains `@`, which only qualifies references by provider; it is dropped. */
  CONFIG_NAME_INVALID: 'BERTH_CONFIG_NAME_INVALID',
  /** A router names a service that is not defined (or was dropped). */
  CONFIG_SERVICE_MISSING: 'BERTH_CONFIG_SERVICE_MISSING',
  /** A router, chain or entry point names a middleware that is not defined (or was dropped). */
  CONFIG_MIDDLEWARE_MISSING: 'BERTH_CONFIG_MIDDLEWARE_MISSING',
  /** Chains that include each other; every middleware in the cycle is dropped. */
  CONFIG_MIDDLEWARE_CYCLE: 'BERTH_CONFIG_MIDDLEWARE_CYCLE',
  /** Weighted or mirroring services that lead back to themselves; every service in the cycle is dropped. */
  CONFIG_SERVICE_CYCLE: 'BERTH_CONFIG_SERVICE_CYCLE',
  /** A load balancer names a servers transport that is not defined (or was dropped). */
  CONFIG_TRANSPORT_MISSING: 'BERTH_CONFIG_TRANSPORT_MISSING',
  /** A router names an entry point the static configuration does not declare. */
  CONFIG_ENTRYPOINT_MISSING: 'BERTH_CONFIG_ENTRYPOINT_MISSING',
  /** A router names an entry point of the other protocol (an HTTP or TCP router on a `/udp` one, or back). */
  CONFIG_ENTRYPOINT_PROTOCOL: 'BERTH_CONFIG_ENTRYPOINT_PROTOCOL',
  /** Warning: a UDP entry point serves one UDP router; the others named there get none of its datagrams. */
  CONFIG_UDP_ROUTER_SHADOWED: 'BERTH_CONFIG_UDP_ROUTER_SHADOWED',
  /** Rule codes come from `parseRule` in @berth/config; listed here so the catalogue is complete. */
  CONFIG_RULE_SYNTAX: 'BERTH_CONFIG_RULE_SYNTAX',
  CONFIG_RULE_UNKNOWN_MATCHER: 'BERTH_CONFIG_RULE_UNKNOWN_MATCHER',
  CONFIG_RULE_ARGS: 'BERTH_CONFIG_RULE_ARGS',
  /** Warning: a v2 `{name:regex}` template in a rule read as v3; the router is kept and never matches. */
  CONFIG_RULE_NEVER_MATCHES: 'BERTH_CONFIG_RULE_NEVER_MATCHES',
  /** Codes of `tls.*` problems come from @berth/config's catalogue; listed here so this one is complete. */
  TLS_CERT_READ: 'BERTH_TLS_CERT_READ',
  TLS_CERT_INVALID: 'BERTH_TLS_CERT_INVALID',
  TLS_KEY_MISMATCH: 'BERTH_TLS_KEY_MISMATCH',
  TLS_CERT_EXPIRED: 'BERTH_TLS_CERT_EXPIRED',
  TLS_CERT_NOT_YET_VALID: 'BERTH_TLS_CERT_NOT_YET_VALID',
  TLS_OPTIONS_MISSING: 'BERTH_TLS_OPTIONS_MISSING',
  /** An OCSP response could not be fetched or read; the previous one (if any) stays stapled. Logged only. */
  TLS_OCSP_FETCH: 'BERTH_TLS_OCSP_FETCH',
  /** The controller's generated default certificate or session ticket keys could not be stored. */
  TLS_STATE_WRITE: 'BERTH_TLS_STATE_WRITE',
  /** `--join-token-file` could not be written: the controller does not start (or the rotation fails). */
  JOIN_TOKEN_FILE: 'BERTH_CONTROLLER_JOIN_TOKEN_FILE',
  /** The snapshot store's state could not be read; a new epoch was started. */
  STORE_CORRUPT: 'BERTH_STORE_CORRUPT',
  /** A stored snapshot file is missing, unreadable or does not match its hash; it was skipped. */
  STORE_SNAPSHOT_INVALID: 'BERTH_STORE_SNAPSHOT_INVALID',
  API_UNAUTHORIZED: 'BERTH_API_UNAUTHORIZED',
  API_NOT_FOUND: 'BERTH_API_NOT_FOUND',
  /** The controller has not published a snapshot yet. */
  API_NO_SNAPSHOT: 'BERTH_API_NO_SNAPSHOT',
  /** No node with that id has ever connected. */
  API_NODE_NOT_FOUND: 'BERTH_API_NODE_NOT_FOUND',
  /** The node has not sent any stats yet. */
  API_NO_STATS: 'BERTH_API_NO_STATS',
  /** The request's Host is neither loopback, an IP address nor a name given with `--api-host` (DNS rebinding guard). */
  API_HOST_REFUSED: 'BERTH_API_HOST_REFUSED',
  API_BAD_REQUEST: 'BERTH_API_BAD_REQUEST',
  API_INTERNAL: 'BERTH_API_INTERNAL',
  /** Docker cannot be reached (socket, TCP, TLS); the last known containers keep routing while it retries. */
  DOCKER_UNREACHABLE: 'BERTH_DOCKER_UNREACHABLE',
  /** The events stream ended or went silent; the provider reconnects and resyncs in full. */
  DOCKER_EVENTS_LOST: 'BERTH_DOCKER_EVENTS_LOST',
  /** Listing or inspecting containers failed; the provider reconnects and resyncs in full. */
  DOCKER_INSPECT: 'BERTH_DOCKER_INSPECT',
  /** The label decoder threw (a bug: it must report errors as data); the previous parts stay. */
  DOCKER_DECODE: 'BERTH_DOCKER_DECODE',
  /** `providers.docker` has a value of the wrong type or form; the Docker provider does not start. */
  DOCKER_SETTING_INVALID: 'BERTH_DOCKER_SETTING_INVALID',
  /** `providers.docker` has a key Berth does not know. */
  DOCKER_SETTING_UNKNOWN: 'BERTH_DOCKER_SETTING_UNKNOWN',
  /** `providers.docker` has a Traefik setting Berth does not implement yet; it has no effect. */
  DOCKER_SETTING_UNSUPPORTED: 'BERTH_DOCKER_SETTING_UNSUPPORTED',
  /** `providers.swarm` has a value of the wrong type or form; the Swarm provider does not start. */
  SWARM_SETTING_INVALID: 'BERTH_SWARM_SETTING_INVALID',
  /** `providers.swarm` has a key Berth does not know. */
  SWARM_SETTING_UNKNOWN: 'BERTH_SWARM_SETTING_UNKNOWN',
  /** `providers.swarm` has a Traefik setting Berth does not implement yet; it has no effect. */
  SWARM_SETTING_UNSUPPORTED: 'BERTH_SWARM_SETTING_UNSUPPORTED',
  /** `providers.debounce` is not a map of `quiet` and `max` durations; the defaults (20ms, 250ms) apply. */
  PROVIDERS_DEBOUNCE_INVALID: 'BERTH_PROVIDERS_DEBOUNCE_INVALID',
  /**
   * The daemon is not a Swarm manager (or a read of services or tasks failed); the last known
   * services keep routing while the provider retries with backoff.
   */
  SWARM_LIST: 'BERTH_SWARM_LIST',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
