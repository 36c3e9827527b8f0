// The Docker label decoder's catalogue of stable error codes (validation of the decoded values reuses @berth/config's).

export const DockerErrorCodes = {
  /** A label key that cannot be read (empty segment, `[` in the wrong place); that label alone is ignored. */
  LABEL_KEY: 'BERTH_DOCKER_LABEL_KEY',
  /** `traefik.enable`, `traefik.docker.network` or `traefik.docker.allownonrunning` has a bad value; the container is left out. */
  LABEL_VALUE: 'BERTH_DOCKER_LABEL_VALUE',
  /** The provider's constraints expression does not parse; no container is routed until it is fixed. */
  CONSTRAINTS: 'BERTH_DOCKER_CONSTRAINTS',
  /** The default rule template cannot be rendered for a container, or renders empty; that router is dropped. */
  DEFAULT_RULE: 'BERTH_DOCKER_DEFAULT_RULE',
  /** A router without service on a container with several services; that router is dropped. */
  SERVICE_AMBIGUOUS: 'BERTH_DOCKER_SERVICE_AMBIGUOUS',
  /** No port: the container exposes none, or several and no `loadbalancer.server.port` label picks one. */
  PORT: 'BERTH_DOCKER_PORT',
  /** No address for the container: the network named is not attached, or it has no IP. */
  ADDRESS: 'BERTH_DOCKER_ADDRESS',
  /** `server.url` together with `server.port` or `server.scheme`; that service is dropped. */
  SERVER_URL_AND_PORT: 'BERTH_DOCKER_SERVER_URL_AND_PORT',
  /** Two containers define one router, middleware or service differently; it is dropped. */
  CONFLICT: 'BERTH_DOCKER_CONFLICT',
  /** A label section Berth has no equivalent for yet (`traefik.udp.*`); those elements are left out. */
  UNSUPPORTED: 'BERTH_DOCKER_UNSUPPORTED',
  /**
   * A label names files the controller would read (certificates, keys, CAs): a container must not
   * reach the controller's disk; the element is left out (the file provider can define it).
   */
  FILE_FROM_LABEL: 'BERTH_DOCKER_FILE_FROM_LABEL',
  /** `traefik.swarm.lbswarm=true` on a service in endpoint mode dnsrr (no VIP): a warning; its tasks are balanced instead. */
  SWARM_LB_DNSRR: 'BERTH_SWARM_LBSWARM_DNSRR',
  /** A bug in the decoder met this container; it is left out and the rest is decoded as usual. */
  INTERNAL: 'BERTH_DOCKER_INTERNAL',
} as const;

export type DockerErrorCode = (typeof DockerErrorCodes)[keyof typeof DockerErrorCodes];
