// JSON schemas for API responses: they document the contract and let fastify serialize fast and leak nothing extra.

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const bool = { type: 'boolean' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const strList = { type: 'array', items: str } as const;

export const errorReplySchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: str, message: str },
} as const;

export const sourceSchema = {
  type: 'object',
  required: ['provider', 'origin'],
  properties: { provider: str, origin: str, line: int, label: str },
} as const;

export const configErrorSchema = {
  type: 'object',
  required: ['code', 'path', 'message'],
  properties: {
    code: str,
    path: str,
    message: str,
    source: sourceSchema,
    severity: { type: 'string', enum: ['warning'] },
  },
} as const;

const errorList = { type: 'array', items: configErrorSchema } as const;

export const healthSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: str },
} as const;

export const statusSchema = {
  type: 'object',
  required: ['version', 'hash', 'epoch', 'startedAt', 'nodes', 'converged', 'errors'],
  properties: {
    version: int,
    hash: nullableStr,
    epoch: str,
    startedAt: str,
    nodes: {
      type: 'object',
      required: ['connected', 'total'],
      properties: { connected: int, total: int },
    },
    converged: bool,
    errors: int,
    /** Present when the Docker provider runs: whether Docker answers, since when, and the last error. */
    docker: {
      type: 'object',
      required: ['state', 'endpoint', 'since', 'lastError', 'containers'],
      properties: {
        state: { type: 'string', enum: ['connecting', 'connected', 'unreachable'] },
        endpoint: str,
        since: str,
        lastError: {
          type: ['object', 'null'],
          required: ['code', 'message', 'at'],
          properties: { code: str, message: str, at: str },
        },
        containers: int,
      },
    },
    /** Present when the Swarm provider runs: whether the manager answers, since when, and the last error. */
    swarm: {
      type: 'object',
      required: ['state', 'endpoint', 'since', 'lastError', 'services', 'tasks'],
      properties: {
        state: { type: 'string', enum: ['connecting', 'connected', 'unreachable'] },
        endpoint: str,
        since: str,
        lastError: {
          type: ['object', 'null'],
          required: ['code', 'message', 'at'],
          properties: { code: str, message: str, at: str },
        },
        services: int,
        tasks: int,
      },
    },
  },
} as const;

const listenerSchema = {
  type: 'object',
  required: ['entryPoint', 'address'],
  properties: {
    entryPoint: str,
    address: str,
    /** `retrying`: the node could not bind the address (port in use) and keeps trying. */
    state: { type: 'string', enum: ['bound', 'retrying'] },
    /** `udp` for a UDP entry point; absent: TCP. */
    protocol: { type: 'string', enum: ['udp'] },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: str, message: str },
    },
  },
} as const;

export const nodeViewSchema = {
  type: 'object',
  required: [
    'id',
    'name',
    'address',
    'connected',
    'connectedSince',
    'lastSeen',
    'appliedVersion',
    'appliedEpoch',
    'appliedHash',
    'pendingVersion',
    'lastAck',
    'lastNack',
    'listeners',
  ],
  properties: {
    id: str,
    name: str,
    address: str,
    connected: bool,
    connectedSince: nullableStr,
    lastSeen: str,
    appliedVersion: int,
    appliedEpoch: nullableStr,
    appliedHash: nullableStr,
    pendingVersion: { type: ['integer', 'null'] },
    lastAck: {
      type: ['object', 'null'],
      required: ['version', 'at'],
      properties: { version: int, at: str },
    },
    lastNack: {
      type: ['object', 'null'],
      required: ['version', 'at', 'code', 'error'],
      properties: { version: int, at: str, code: str, error: str },
    },
    listeners: { type: 'array', items: listenerSchema },
    certificate: {
      type: ['object', 'null'],
      required: ['serial', 'expiresAt'],
      properties: { serial: str, expiresAt: str },
    },
  },
} as const;

export const nodeRevokedSchema = {
  type: 'object',
  required: ['id', 'name', 'revokedAt', 'wasConnected'],
  properties: { id: str, name: str, revokedAt: str, wasConnected: bool },
} as const;

export const tokenRotatedSchema = {
  type: 'object',
  required: ['token', 'previousExpiresAt'],
  properties: { token: str, previousExpiresAt: nullableStr },
} as const;

const serverHealthProperties = {
  url: str,
  status: { type: 'string', enum: ['up', 'down', 'ejected'] },
  since: str,
} as const;

const nodeSummarySchema = {
  type: 'object',
  required: ['at', 'receivedAt', 'requests', 'serverErrors', 'openConnections', 'servers'],
  properties: {
    at: str,
    receivedAt: str,
    requests: int,
    serverErrors: int,
    openConnections: int,
    servers: {
      type: 'object',
      required: ['up', 'down', 'ejected'],
      properties: { up: int, down: int, ejected: int },
    },
  },
} as const;

/** A node as listed: its view plus, once it has reported, a summary of its latest stats. */
export const nodeListItemSchema = {
  ...nodeViewSchema,
  properties: { ...nodeViewSchema.properties, stats: nodeSummarySchema },
} as const;

export const nodesSchema = { type: 'array', items: nodeListItemSchema } as const;

export const nodeStatsSchema = {
  type: 'object',
  required: ['nodeId', 'nodeName', 'at', 'receivedAt', 'openConnections', 'servers', 'requests'],
  properties: {
    nodeId: str,
    nodeName: str,
    at: str,
    receivedAt: str,
    openConnections: int,
    servers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['service', 'url', 'status', 'since'],
        properties: { service: str, ...serverHealthProperties },
      },
    },
    requests: {
      type: 'array',
      items: {
        type: 'object',
        required: ['router', 'service', 'statusClass', 'count'],
        properties: {
          router: str,
          service: str,
          statusClass: { type: 'string', enum: ['1xx', '2xx', '3xx', '4xx', '5xx'] },
          count: int,
        },
      },
    },
  },
} as const;

const serviceHealthSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['nodeId', 'nodeName', 'connected', 'at', 'servers'],
    properties: {
      nodeId: str,
      nodeName: str,
      connected: bool,
      at: str,
      servers: {
        type: 'array',
        items: { type: 'object', required: ['url', 'status', 'since'], properties: serverHealthProperties },
      },
    },
  },
} as const;

const historyEntrySchema = {
  type: 'object',
  required: ['version', 'hash', 'createdAt'],
  properties: { version: int, hash: str, createdAt: str },
} as const;

export const snapshotInfoSchema = {
  type: 'object',
  required: ['version', 'hash', 'epoch', 'createdAt', 'history', 'nodes'],
  properties: {
    version: int,
    hash: nullableStr,
    epoch: str,
    createdAt: nullableStr,
    history: { type: 'array', items: historyEntrySchema },
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'name', 'connected', 'appliedVersion', 'appliedEpoch', 'inSync'],
        properties: {
          id: str,
          name: str,
          connected: bool,
          appliedVersion: int,
          appliedEpoch: nullableStr,
          inSync: bool,
        },
      },
    },
  },
} as const;

export const snapshotSchema = {
  type: 'object',
  required: ['epoch', 'version', 'hash', 'createdAt', 'body'],
  properties: {
    epoch: str,
    version: int,
    hash: str,
    createdAt: str,
    // The body is shown whole, exactly as nodes receive it; a strict schema would silently drop new fields.
    body: { type: 'object', additionalProperties: true },
  },
} as const;

export const routersSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'rule', 'service', 'entryPoints', 'tlsEntryPoints', 'priority', 'status', 'errors'],
    properties: {
      name: str,
      rule: str,
      service: str,
      entryPoints: strList,
      tlsEntryPoints: strList,
      middlewares: strList,
      priority: { type: 'number' },
      // `error`: a provider dropped it (its rule does not parse...); only its name and errors are known.
      status: { type: 'string', enum: ['enabled', 'disabled', 'error'] },
      // Disabled yet answering 503 on the nodes: a middleware it names cannot be built.
      failClosed: { type: 'boolean' },
      errors: errorList,
      source: sourceSchema,
    },
  },
} as const;

export const servicesSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'servers', 'usedBy', 'status', 'errors', 'health'],
    properties: {
      name: str,
      type: {
        type: 'string',
        enum: ['loadBalancer', 'weighted', 'mirroring', 'failover', 'highestRandomWeight', 'unknown'],
      },
      servers: strList,
      services: strList,
      usedBy: strList,
      status: { type: 'string', enum: ['enabled', 'disabled'] },
      errors: errorList,
      source: sourceSchema,
      /** Per node that reported: its view of the service's servers. */
      health: serviceHealthSchema,
    },
  },
} as const;

export const middlewaresSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'type', 'usedBy', 'status', 'errors'],
    properties: {
      name: str,
      type: str,
      usedBy: strList,
      status: { type: 'string', enum: ['enabled', 'disabled'] },
      errors: errorList,
      source: sourceSchema,
    },
  },
} as const;

export const errorsSchema = errorList;

export const tcpRoutersSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'rule', 'service', 'entryPoints', 'priority', 'tls', 'status', 'errors'],
    properties: {
      name: str,
      rule: str,
      service: str,
      entryPoints: strList,
      middlewares: strList,
      priority: { type: 'number' },
      tls: { type: 'string', enum: ['passthrough', 'terminate', 'none'] },
      tlsOptions: str,
      status: { type: 'string', enum: ['enabled', 'disabled', 'error'] },
      errors: errorList,
      source: sourceSchema,
    },
  },
} as const;

export const tcpServicesSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'type', 'servers', 'services', 'usedBy', 'status', 'errors'],
    properties: {
      name: str,
      type: { type: 'string', enum: ['loadBalancer', 'weighted', 'unknown'] },
      servers: strList,
      services: strList,
      usedBy: strList,
      status: { type: 'string', enum: ['enabled', 'disabled'] },
      errors: errorList,
      source: sourceSchema,
    },
  },
} as const;

export const udpRoutersSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'service', 'entryPoints', 'status', 'errors'],
    properties: {
      name: str,
      service: str,
      entryPoints: strList,
      status: { type: 'string', enum: ['enabled', 'disabled'] },
      errors: errorList,
      source: sourceSchema,
    },
  },
} as const;

export const udpServicesSchema = tcpServicesSchema;

/** Names, dates and where a certificate came from; the schema has no place for a key, so none can leak. */
/** An ACME certificate's schedule (AcmeCertificateStatus). */
export const acmeCertificateSchema = {
  type: 'object',
  required: ['resolver', 'domains', 'routers', 'challenge', 'state', 'failures', 'orders', 'expiringSoon'],
  properties: {
    resolver: str,
    domains: strList,
    routers: strList,
    challenge: str,
    state: { type: 'string', enum: ['loading', 'valid', 'ordering', 'waiting-for-node', 'failed'] },
    notBefore: nullableStr,
    notAfter: nullableStr,
    issuedAt: nullableStr,
    expiringSoon: bool,
    lastAttemptAt: nullableStr,
    lastSuccessAt: nullableStr,
    nextAttemptAt: nullableStr,
    nextReason: nullableStr,
    failures: int,
    orders: int,
    lastError: {
      type: ['object', 'null'],
      required: ['code', 'message', 'at'],
      properties: { code: str, message: str, at: str },
    },
  },
} as const;

export const certsSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['names', 'notAfter', 'fingerprint', 'origin', 'stores', 'isDefault', 'status', 'errors'],
    properties: {
      names: strList,
      notAfter: str,
      fingerprint: str,
      origin: str,
      stores: strList,
      isDefault: bool,
      ocspUrl: str,
      status: { type: 'string', enum: ['enabled', 'disabled', 'pending'] },
      errors: errorList,
      source: sourceSchema,
      acme: acmeCertificateSchema,
      ocsp: {
        type: 'object',
        required: ['status'],
        properties: {
          status: { type: 'string', enum: ['good', 'revoked', 'unknown', 'error'] },
          nextUpdate: str,
          fetchedAt: str,
        },
      },
    },
  },
} as const;
