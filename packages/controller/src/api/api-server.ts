// The controller's read-only HTTP API: what is configured, what was published, which nodes serve it.
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
} from 'fastify';
import type { AcmeCertificateStatus } from '../acme/acme-manager.js';
import type { CompileResult } from '../compiler/compile-result.js';
import { ErrorCodes } from '../compiler/error-codes.js';
import type { NodeRegistry } from '../distributor/node-view.js';
import type { DockerProviderStatus } from '../provider/docker/docker-provider.js';
import type { SwarmProviderStatus } from '../provider/swarm/swarm-provider.js';
import type { SnapshotStore } from '../store/snapshot-store.js';
import { bearerChecker } from './bearer-auth.js';
import { acmeMetrics, certificatesView } from './certs-view.js';
import { hostChecker } from './host-check.js';
import { healthByService, listItem, statsReply } from './node-stats.js';
import { converged, nodeInSync } from './node-sync.js';
import { redactSnapshot } from './redact.js';
import { routersView, tcpRoutersView } from './routers-view.js';
import {
  certsSchema,
  errorReplySchema,
  errorsSchema,
  healthSchema,
  middlewaresSchema,
  nodeRevokedSchema,
  nodeStatsSchema,
  nodesSchema,
  routersSchema,
  servicesSchema,
  snapshotInfoSchema,
  snapshotSchema,
  statusSchema,
  tcpRoutersSchema,
  tcpServicesSchema,
  tokenRotatedSchema,
  udpRoutersSchema,
  udpServicesSchema,
} from './schemas.js';

export interface ApiState {
  /** The latest compilation, null until the first one finished. */
  compile: CompileResult | null;
  startedAt: string;
  epoch: string;
  /** The Docker provider's connection, when it runs. */
  docker?: DockerProviderStatus;
  /** The Swarm provider's connection, when it runs. */
  swarm?: SwarmProviderStatus;
  /** Every ACME certificate the routers ask for, with its schedule, when resolvers are configured. */
  acme?: AcmeCertificateStatus[];
}

export interface ApiDeps {
  store: SnapshotStore;
  nodes: NodeRegistry;
  state: () => ApiState;
  /** When set, every route but `/healthz` needs `Authorization: Bearer <token>`. */
  authToken?: string;
  logger?: FastifyBaseLogger;
  /**
   * Names the API answers besides `localhost` and IP literals (`--api-host`); `*` answers any.
   * Anything else gets 421 `BERTH_API_HOST_REFUSED`: the DNS-rebinding guard.
   */
  allowedHosts?: readonly string[];
  /** Where refused Hosts are reported, one line a minute at most. */
  log?: { info(obj: object, msg: string): void };
  /** The write routes (remove a node, rotate the join token), and the extra token they accept. */
  admin?: AdminDeps;
}

export interface AdminDeps {
  /**
   * `<data-dir>/admin-token`: accepted wherever the API token is, and required (it or the API
   * token) by the write routes even when the API has no token.
   */
  token: string;
  revokeNode(
    id: string,
  ): Promise<{ id: string; name: string; revokedAt: string; wasConnected: boolean } | null>;
  rotateJoinToken(graceMs: number): Promise<{ token: string; previousExpiresAt: string | null }>;
}

/** Longest grace period of a rotated join token: 30 days. */
const MAX_GRACE_MS = 30 * 24 * 3600 * 1000;

/** At most one log line per this period for refused Hosts, with the count of the others. */
const REFUSED_LOG_PERIOD_MS = 60_000;

const PUBLIC_ROUTES = new Set(['/healthz']);

/**
 * fastify's own response serializers (fast-json-stringify), each compiled on its route's first
 * reply instead of all at `listen`: compiling the 17 routes' schemas (with ajv for their unions)
 * is 100–200 ms of the controller's start, and most routes are never asked for in a process's life.
 */
const lazySerializers: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: {
    buildSerializer: (externalSchemas, options) => {
      const compile = SerializerSelector()(externalSchemas, options);
      return (route) => {
        let serialize: ((doc: unknown) => string) | undefined;
        return (doc: unknown) => {
          serialize ??= compile(route);
          return serialize(doc);
        };
      };
    },
  },
};

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app: FastifyInstance =
    deps.logger === undefined
      ? Fastify({ logger: false, schemaController: lazySerializers })
      : Fastify({ loggerInstance: deps.logger, schemaController: lazySerializers });

  const hostAllowed = hostChecker(deps.allowedHosts);
  let refusedSinceLog = 0;
  let lastRefusedLog = Number.NEGATIVE_INFINITY;
  // Before authentication: a rebinding page has no token, and the refusal must not depend on the route.
  app.addHook('onRequest', async (request, reply) => {
    const host = request.headers.host;
    if (hostAllowed(host)) return;
    refusedSinceLog++;
    const now = Date.now();
    if (now - lastRefusedLog >= REFUSED_LOG_PERIOD_MS) {
      deps.log?.info(
        {
          code: ErrorCodes.API_HOST_REFUSED,
          host: host?.slice(0, 256),
          remote: request.ip,
          refused: refusedSinceLog,
        },
        'API request refused: Host is not loopback or an --api-host name (DNS rebinding guard); further refusals are counted for a minute',
      );
      refusedSinceLog = 0;
      lastRefusedLog = now;
    }
    return reply.code(421).send({
      code: ErrorCodes.API_HOST_REFUSED,
      message:
        'this API answers only loopback, IP addresses and the names given with --api-host; add --api-host NAME to the controller to use this name',
    });
  });

  const checkApi = deps.authToken === undefined ? null : bearerChecker(deps.authToken);
  const checkAdmin = deps.admin === undefined ? null : bearerChecker(deps.admin.token);
  const privileged = (header: string | undefined) =>
    (checkApi?.(header) ?? false) || (checkAdmin?.(header) ?? false);
  if (checkApi !== null) {
    const check = privileged;
    // Runs for unknown routes too, so an unauthenticated caller cannot map which routes exist.
    app.addHook('onRequest', async (request, reply) => {
      const route = request.routeOptions.url;
      if (route !== undefined && PUBLIC_ROUTES.has(route)) return;
      if (check(request.headers.authorization)) return;
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="berth"')
        .send({ code: ErrorCodes.API_UNAUTHORIZED, message: 'missing or invalid bearer token' });
    });
  }

  app.setNotFoundHandler((request, reply) => {
    return reply
      .code(404)
      .send({ code: ErrorCodes.API_NOT_FOUND, message: `no route for ${request.method} ${request.url}` });
  });

  app.setErrorHandler((error: { statusCode?: number; message?: string }, request, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'api request failed');
    return reply.code(status).send({
      code: status >= 500 ? ErrorCodes.API_INTERNAL : ErrorCodes.API_BAD_REQUEST,
      message: status >= 500 ? 'internal error' : (error.message ?? 'bad request'),
    });
  });

  const errorReplies = {
    400: errorReplySchema,
    401: errorReplySchema,
    421: errorReplySchema,
    404: errorReplySchema,
    500: errorReplySchema,
  };

  /** Write routes: the API token or the admin token, whether or not the API requires a token to read. */
  const requireAdmin = async (
    request: { headers: { authorization?: string | undefined } },
    reply: FastifyReply,
  ) => {
    if (privileged(request.headers.authorization)) return;
    return reply.code(401).header('www-authenticate', 'Bearer realm="berth"').send({
      code: ErrorCodes.API_UNAUTHORIZED,
      message:
        "this route changes the controller: present the API token or the admin token from the controller's data dir (admin-token)",
    });
  };

  const admin = deps.admin;
  if (admin !== undefined) {
    app.delete<{ Params: { id: string } }>(
      '/api/v1/nodes/:id',
      {
        onRequest: requireAdmin,
        schema: { response: { 200: nodeRevokedSchema, ...errorReplies } },
      },
      async (request, reply) => {
        const removed = await admin.revokeNode(request.params.id);
        if (removed === null) {
          return reply
            .code(404)
            .send({ code: ErrorCodes.API_NODE_NOT_FOUND, message: `no node with id ${request.params.id}` });
        }
        request.log.warn({ nodeId: removed.id, node: removed.name }, 'node removed through the API');
        return removed;
      },
    );

    app.post<{ Body: { graceMs?: number } | null }>(
      '/api/v1/token/rotate',
      {
        onRequest: requireAdmin,
        schema: {
          body: {
            type: ['object', 'null'],
            properties: { graceMs: { type: 'integer', minimum: 0, maximum: MAX_GRACE_MS } },
            additionalProperties: false,
          },
          response: { 200: tokenRotatedSchema, ...errorReplies },
        },
      },
      async (request) => admin.rotateJoinToken(request.body?.graceMs ?? 0),
    );
  }

  app.get('/healthz', { schema: { response: { 200: healthSchema } } }, async () => ({ status: 'ok' }));

  app.get('/api/v1/status', { schema: { response: { 200: statusSchema, ...errorReplies } } }, async () => {
    const state = deps.state();
    const current = deps.store.current;
    const nodes = deps.nodes.list();
    return {
      version: current?.version ?? 0,
      hash: current?.hash ?? null,
      epoch: state.epoch,
      startedAt: state.startedAt,
      nodes: { connected: nodes.filter((n) => n.connected).length, total: nodes.length },
      converged: converged(nodes, current),
      errors: state.compile?.errors.length ?? 0,
      ...(state.docker === undefined ? {} : { docker: state.docker }),
      ...(state.swarm === undefined ? {} : { swarm: state.swarm }),
    };
  });

  app.get('/api/v1/nodes', { schema: { response: { 200: nodesSchema, ...errorReplies } } }, async () =>
    deps.nodes.list().map(listItem),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/nodes/:id/stats',
    { schema: { response: { 200: nodeStatsSchema, ...errorReplies } } },
    async (request, reply) => {
      const node = deps.nodes.list().find((n) => n.id === request.params.id);
      if (node === undefined) {
        return reply
          .code(404)
          .send({ code: ErrorCodes.API_NODE_NOT_FOUND, message: `no node with id ${request.params.id}` });
      }
      if (node.stats === undefined) {
        return reply
          .code(404)
          .send({ code: ErrorCodes.API_NO_STATS, message: `node ${node.name} has not reported stats yet` });
      }
      return statsReply({ ...node, stats: node.stats });
    },
  );

  app.get(
    '/api/v1/snapshot',
    { schema: { response: { 200: snapshotInfoSchema, ...errorReplies } } },
    async () => {
      const current = deps.store.current;
      return {
        version: current?.version ?? 0,
        hash: current?.hash ?? null,
        epoch: current?.epoch ?? deps.store.epoch,
        createdAt: current?.createdAt ?? null,
        history: deps.store.history(),
        nodes: deps.nodes.list().map((n) => ({
          id: n.id,
          name: n.name,
          connected: n.connected,
          appliedVersion: n.appliedVersion,
          appliedEpoch: n.appliedEpoch,
          inSync: nodeInSync(n, current),
        })),
      };
    },
  );

  app.get(
    '/api/v1/snapshot/body',
    { schema: { response: { 200: snapshotSchema, ...errorReplies } } },
    async (_request, reply) => {
      const current = deps.store.current;
      if (current === null) {
        return reply
          .code(404)
          .send({ code: ErrorCodes.API_NO_SNAPSHOT, message: 'no snapshot has been published yet' });
      }
      // Nodes get the keys; API callers never do.
      return redactSnapshot(current);
    },
  );

  app.get('/api/v1/routers', { schema: { response: { 200: routersSchema, ...errorReplies } } }, async () => {
    const compile = deps.state().compile;
    return compile === null ? [] : routersView(compile.routers, compile.errors);
  });

  app.get(
    '/api/v1/services',
    { schema: { response: { 200: servicesSchema, ...errorReplies } } },
    async () => {
      const services = deps.state().compile?.services ?? [];
      const health = healthByService(deps.nodes.list());
      return services.map((s) => ({ ...s, health: health.get(s.name) ?? [] }));
    },
  );

  app.get(
    '/api/v1/middlewares',
    { schema: { response: { 200: middlewaresSchema, ...errorReplies } } },
    async () => deps.state().compile?.middlewares ?? [],
  );

  app.get(
    '/api/v1/tcp/routers',
    { schema: { response: { 200: tcpRoutersSchema, ...errorReplies } } },
    async () => {
      const compile = deps.state().compile;
      return compile === null ? [] : tcpRoutersView(compile.tcpRouters, compile.errors);
    },
  );

  app.get(
    '/api/v1/tcp/services',
    { schema: { response: { 200: tcpServicesSchema, ...errorReplies } } },
    async () => deps.state().compile?.tcpServices ?? [],
  );

  app.get(
    '/api/v1/udp/routers',
    { schema: { response: { 200: udpRoutersSchema, ...errorReplies } } },
    async () => deps.state().compile?.udpRouters ?? [],
  );

  app.get(
    '/api/v1/udp/services',
    { schema: { response: { 200: udpServicesSchema, ...errorReplies } } },
    async () => deps.state().compile?.udpServices ?? [],
  );

  app.get('/api/v1/certs', { schema: { response: { 200: certsSchema, ...errorReplies } } }, async () => {
    const state = deps.state();
    return certificatesView(state.compile?.certificates ?? [], state.acme);
  });

  // Prometheus text: the ACME schedule (expiry, next attempt, failures, orders).
  app.get('/metrics', async (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(acmeMetrics(deps.state().acme ?? [])),
  );

  app.get(
    '/api/v1/errors',
    { schema: { response: { 200: errorsSchema, ...errorReplies } } },
    async () => deps.state().compile?.errors ?? [],
  );

  return app;
}
