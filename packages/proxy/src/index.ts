export {
  Agent,
  type AgentOptions,
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
export { PoolCache } from './http/pool-cache.js';
export {
  type NodeStatus,
  type ProxyNode,
  type ProxyNodeOptions,
  startProxyNode,
} from './proxy-node.js';
export { type BuildResult, buildRuntime, SNAPSHOT_INVALID } from './runtime/build-runtime.js';
export { routeRequest } from './runtime/route-request.js';
export { RouterTable } from './runtime/router-table.js';
export { type RuntimeSource, RuntimeSwitch } from './runtime/runtime-switch.js';
export type { RouterEntry, Runtime, ServerTarget, ServiceRuntime } from './runtime/types.js';
export {
  WORKERS_START_FAILED,
  WorkerPool,
  type WorkerPoolOptions,
  type WorkerState,
  type WorkerStatus,
} from './workers/worker-pool.js';
