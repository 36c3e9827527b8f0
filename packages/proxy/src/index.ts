export { Agent, type AgentOptions, type AppliedStatus, type ApplyResult, type SnapshotApplier } from './agent/agent.js';
export { backoffDelay, type BackoffOptions } from './agent/backoff.js';
export { startProxyNode, type ProxyNode, type ProxyNodeOptions } from './proxy-node.js';
export { DataPlane } from './data-plane.js';
