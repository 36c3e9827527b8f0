export type { AcmeCertificateState, AcmeCertificateStatus } from './acme/acme-manager.js';
export { type ApiDeps, type ApiState, buildApi } from './api/api-server.js';
export type { CertificateView } from './api/certs-view.js';
export type {
  NodeListItem,
  NodeServiceHealth,
  NodeStatsReply,
  NodeSummary,
  ServerHealthView,
} from './api/node-stats.js';
export type { ErroredRouter, RouterListItem, TcpRouterListItem } from './api/routers-view.js';
export { type CompileOptions, compile } from './compiler/compile.js';
export type {
  CertificateStatus,
  CompileResult,
  ElementStatus,
  MiddlewareStatus,
  OcspState,
  RouterStatus,
  ServiceStatus,
  ServiceType,
  TcpRouterStatus,
  TcpServiceStatus,
} from './compiler/compile-result.js';
export { type ErrorCode, ErrorCodes } from './compiler/error-codes.js';
export { BUILTIN_TLS_OPTIONS, type TlsMaterial } from './compiler/resolve-tls.js';
export {
  type ControllerHandle,
  type ControllerOptions,
  FALLBACK_ENTRYPOINTS,
  startController,
} from './controller.js';
export { Distributor, type DistributorOptions, NODE_CHANNEL_PATH } from './distributor/distributor.js';
export type { NodeRegistry, NodeStatsView, NodeView } from './distributor/node-view.js';
export { type ControllerPki, ensureControllerPki } from './pki/controller-pki.js';
export { type InitJoinTokenResult, initJoinToken } from './pki/join-token-init.js';
export type {
  ContainerDecoder,
  ContainerFacts,
  ContainerNetwork,
  DockerProviderSettings,
} from './provider/docker/container-facts.js';
export {
  type CreateDockerProviderDeps,
  createDockerProvider,
} from './provider/docker/create-docker-provider.js';
export {
  type DockerClient,
  type DockerConnection,
  type DockerEvent,
  dockerodeClient,
  parseDockerEndpoint,
} from './provider/docker/docker-client.js';
export {
  DOCKER_PROVIDER,
  DockerProvider,
  type DockerProviderLogger,
  type DockerProviderOptions,
  type DockerProviderStatus,
} from './provider/docker/docker-provider.js';
export {
  DEFAULT_DOCKER_ENDPOINT,
  DEFAULT_DOCKER_RULE,
  type DockerProviderConfig,
  parseDockerSettings,
} from './provider/docker/docker-settings.js';
export { type ContainerInspect, factsFromInspect } from './provider/docker/inspect-facts.js';
export { decodeContainers } from './provider/docker/labels/decode-containers.js';
export { FileProvider, type FileProviderOptions, type ProviderLogger } from './provider/file-provider.js';
export type { PartSources, PartsListener, Provider, ProviderPart } from './provider/provider-part.js';
export {
  type CreateSwarmProviderDeps,
  createSwarmProvider,
} from './provider/swarm/create-swarm-provider.js';
export { decodeSwarm, SWARM_PROVIDER, type SwarmDecoder } from './provider/swarm/decode-swarm.js';
export {
  dockerodeSwarmClient,
  type SwarmClient,
  type SwarmNetwork,
  type SwarmNode,
  type SwarmService,
  type SwarmState,
  type SwarmTask,
} from './provider/swarm/swarm-client.js';
export { factsFromSwarm, isTaskRunning, isTaskStarting } from './provider/swarm/swarm-facts.js';
export {
  SwarmProvider,
  type SwarmProviderOptions,
  type SwarmProviderStatus,
} from './provider/swarm/swarm-provider.js';
export {
  DEFAULT_SWARM_REFRESH_SECONDS,
  parseSwarmSettings,
  type SwarmProviderConfig,
  type SwarmProviderSettings,
} from './provider/swarm/swarm-settings.js';
export { loadControllerConfig, parseControllerConfig } from './settings/controller-config.js';
export {
  DEFAULT_HISTORY,
  type HistoryEntry,
  SnapshotStore,
  type SnapshotStoreOptions,
  type StoreWarning,
} from './store/snapshot-store.js';
