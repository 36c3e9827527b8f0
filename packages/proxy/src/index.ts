export {
  Agent,
  type AgentOptions,
  type AgentRefusal,
  type AppliedChange,
  type AppliedStatus,
  type AppliedVersion,
  type ApplyResult,
  type SnapshotApplier,
} from './agent/agent.js';
export { type BackoffOptions, backoffDelay } from './agent/backoff.js';
export type { Balancer } from './balancer/balancer.js';
export { RoundRobin } from './balancer/round-robin.js';
export {
  type ApplyResult as DataPlaneApplyResult,
  DATA_PLANE_CLOSED,
  DataPlane,
  type DataPlaneOptions,
  LISTEN_FAILED,
} from './data-plane.js';
export {
  type ClientHelloFacts,
  type ConnectionFacts,
  connectionFacts,
  type HttpHandoff,
  setConnectionFacts,
  type TlsTerminator,
} from './edge/contract.js';
export { TOKEN_REFUSED } from './errors.js';
export { HEALTHCHECK_CONFIG, HealthRegistry, type HealthRegistryOptions } from './health/health-registry.js';
export { PASSIVE_DEFAULTS, type PassiveSettings } from './health/passive-health.js';
export { ALWAYS_AVAILABLE, type ServerHealth } from './health/server-health.js';
export { parseStatusSpec, type StatusMatcher } from './health/status-spec.js';
export { HttpEntryPoint } from './http/http-entry-point.js';
export { PoolCache } from './http/pool-cache.js';
export { AccessLog, type AccessLogOptions, logAccess, shouldLog } from './observability/access-log.js';
export { MetricsRegistry } from './observability/metrics.js';
export {
  METRICS_ADDRESS_INVALID,
  MetricsAddressError,
  type MetricsServer,
  type MetricsServerOptions,
  type NodeHealth,
  startMetricsServer,
} from './observability/metrics-server.js';
export { type HealthReporter, NodeMetrics, recordRequest } from './observability/node-metrics.js';
export { nodeStats } from './observability/node-stats.js';
export {
  type NodeStatus,
  type ProxyNode,
  type ProxyNodeOptions,
  startProxyNode,
} from './proxy-node.js';
export {
  type BuildResult,
  buildRuntime,
  type RebuildResult,
  rebuildRuntime,
  SNAPSHOT_INVALID,
} from './runtime/build-runtime.js';
export { routeRequest } from './runtime/route-request.js';
export { RouterTable } from './runtime/router-table.js';
export { type RuntimeSource, RuntimeSwitch } from './runtime/runtime-switch.js';
export type { RouterEntry, Runtime, ServerTarget, ServiceRuntime } from './runtime/types.js';
export { CertificateIndex } from './tls/certificate-index.js';
export {
  OptionsInEffect,
  optionsInEffect,
  TLS_OPTIONS_CONFLICT,
  TLS_OPTIONS_UNKNOWN,
  type TlsProblem,
} from './tls/options-in-effect.js';
export { serverSettings } from './tls/server-options.js';
export { TLS_CERTIFICATE_UNUSABLE, TlsState, type TlsStateInput } from './tls/tls-state.js';
export { TlsTermination, type TlsTerminationOptions } from './tls/tls-termination.js';
export { EdgeTlsTerminator, type EdgeTlsTerminatorOptions } from './tls/tls-terminator.js';
export {
  WORKERS_START_FAILED,
  WorkerPool,
  type WorkerPoolOptions,
  type WorkerState,
  type WorkerStatus,
} from './workers/worker-pool.js';
