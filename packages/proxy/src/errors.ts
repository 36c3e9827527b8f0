// Error codes the data plane answers with, in a module of their own so the node's primary can name them without loading the data plane.

/** An entry point's address cannot be bound (a bad address, or a port in use: then retried). */
export const LISTEN_FAILED = 'BERTH_PROXY_LISTEN';
/** The data plane (or the node) is stopping and applies nothing more. */
export const DATA_PLANE_CLOSED = 'BERTH_PROXY_CLOSED';
/** The controller answered 401 to the join token's secret. */
export const TOKEN_REFUSED = 'BERTH_PROXY_TOKEN_REFUSED';
/** The node's data dir is writable by other users and not the node's own to fix. */
export const DATA_DIR_UNSAFE = 'BERTH_PROXY_DATA_DIR_UNSAFE';
/** The snapshot cache is not JSON (refused and kept aside, like one that fails its checks). */
export const CACHE_UNREADABLE = 'BERTH_PROXY_CACHE_UNREADABLE';
/** Logged: the node holds as many UDP sessions as it may; datagrams from new clients are dropped until some end. */
export const UDP_SESSIONS_FULL = 'BERTH_PROXY_UDP_SESSIONS_FULL';
