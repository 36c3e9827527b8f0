// Wires the controller: providers → compiler → snapshot store → distributor, plus PKI and the API.
import { type FSWatcher, watch } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import {
  type ConfigError,
  type EntryPoint,
  formatAddress,
  parseAddress,
  parseDuration,
  type StaticConfig,
} from '@berth/config';
import { canonicalJson, formatToken, writeFileAtomic } from '@berth/protocol';
import type { Logger } from 'pino';
import type { AcmeManager, AcmeManagerTiming } from './acme/acme-manager.js';
import type { AcmeResolverSettings } from './acme/resolver-settings.js';
import { buildApi } from './api/api-server.js';
import { compile } from './compiler/compile.js';
import type { CompileResult } from './compiler/compile-result.js';
import { ErrorCodes } from './compiler/error-codes.js';
import { Distributor } from './distributor/distributor.js';
import { JoinSecrets, loadOrCreateSecret } from './distributor/join-secrets.js';
import { NodeIdentities } from './distributor/node-identities.js';
import { ensureControllerPki } from './pki/controller-pki.js';
import { hostForUrl, nodesUrlFor } from './pki/join-token-init.js';
import {
  createChangeDebouncer,
  DEFAULT_DEBOUNCE_MAX_MS,
  DEFAULT_DEBOUNCE_QUIET_MS,
  type DebounceSettings,
} from './provider/change-debouncer.js';
import type { ContainerDecoder } from './provider/docker/container-facts.js';
import type { DockerProvider } from './provider/docker/docker-provider.js';
import type { DockerProviderConfig } from './provider/docker/docker-settings.js';
import { FileProvider } from './provider/file-provider.js';
import { resolveFileReferences } from './provider/file-references.js';
import type { Provider, ProviderPart } from './provider/provider-part.js';
import type { SwarmDecoder } from './provider/swarm/decode-swarm.js';
import type { SwarmProvider } from './provider/swarm/swarm-provider.js';
import type { SwarmProviderConfig } from './provider/swarm/swarm-settings.js';
import { SnapshotStore } from './store/snapshot-store.js';
import { ensureDefaultCertificate } from './tls/default-certificate.js';
import type { OcspStapler } from './tls/ocsp-stapler.js';
import { TicketKeyRing } from './tls/session-ticket-keys.js';

// Loaded when used, not at start: the Docker and Swarm providers bring dockerode (and ssh2, whose
// WebAssembly alone is 16 MiB), OCSP stapling an ASN.1 stack, the config file a YAML parser. A
// controller on a file alone needs none of them to be ready.
const dockerModules = () =>
  Promise.all([
    import('./provider/docker/create-docker-provider.js'),
    import('./provider/docker/labels/decode-containers.js'),
  ]);
const swarmModules = () =>
  Promise.all([
    import('./provider/swarm/create-swarm-provider.js'),
    import('./provider/swarm/decode-swarm.js'),
  ]);
/** The names the Docker and Swarm providers go by (DOCKER_PROVIDER, SWARM_PROVIDER), without loading them. */
const DOCKER = 'docker';
const SWARM = 'swarm';

export interface ControllerOptions {
  dataDir: string;
  /** Static configuration file (entry points, providers.file); watched for entry point changes. */
  configFile?: string;
  /** Dynamic configuration file or directory; overrides `providers.file` of the config file. */
  providerFile?: string;
  /** Entry points declared on the command line; override the config file's of the same name. */
  entryPoints?: Record<string, EntryPoint>;
  /** Node channel (WSS) bind address, `host:port`. */
  listen: string;
  /** `host:port` nodes dial (goes into join tokens); defaults to the bound address. */
  advertise?: string;
  /**
   * A second place the current join token is written (0600, again after every rotation), e.g. a
   * volume the nodes mount read-only: how the first token reaches them without a manual copy.
   */
  joinTokenFile?: string;
  /** Internal API bind address. */
  api: string;
  apiToken?: string;
  /**
   * Names the API answers to besides `localhost` and IP addresses (`--api-host`), `*` for any;
   * the bind address is added when it is a name. Other Hosts get 421 (DNS rebinding guard).
   */
  apiHosts?: string[];
  /** A disconnected node stays listed in the API this long, then is forgotten (default 10 min). */
  nodeExpiryMs?: number;
  /** Validity of node certificates (default 30 days); nodes renew at half of it. */
  nodeCertTtlMs?: number;
  heartbeatMs?: number;
  logger: Logger;
  /**
   * More providers next to the file provider (started and closed by the controller): the Docker
   * provider's seat, and how tests feed parts the file provider cannot express yet.
   */
  providers?: Provider[];
  /** `providers.docker` from the command line (`--docker`); takes the place of the config file's. */
  docker?: DockerProviderConfig;
  /** Turns containers into configuration: Traefik's label grammar (`decodeContainers`) unless a test swaps it. */
  dockerDecoder?: ContainerDecoder;
  /** `providers.swarm` from the command line (`--swarm`); takes the place of the config file's. */
  swarm?: SwarmProviderConfig;
  /** Turns Swarm services into configuration (`decodeSwarm`, Traefik's label grammar) unless a test swaps it. */
  swarmDecoder?: SwarmDecoder;
  /**
   * How provider changes are gathered into one version; takes the place of the config file's
   * `providers.debounce` (default: 20 ms after the last change, at most 250 ms after the first).
   */
  debounce?: Partial<DebounceSettings>;
  /**
   * ACME scheduling knobs (renewal gap, jitter, retry start, challenge wait, CA polling); tests
   * shorten them. The resolvers themselves come from `certificatesResolvers` in the config file.
   */
  acmeTiming?: AcmeManagerTiming;
}

export interface ControllerHandle {
  apiUrl: string;
  nodesUrl: string;
  /** The current join token (it changes when rotated). */
  readonly joinToken: string;
  store: SnapshotStore;
  distributor: Distributor;
  close(): Promise<void>;
}

/** Used when neither a config file nor flags declare an entry point: Traefik's usual pair. */
export const FALLBACK_ENTRYPOINTS: Record<string, EntryPoint> = {
  web: { address: ':80' },
  websecure: { address: ':443' },
};

/** Static `tls.sessionTicketRotation` when not set. */
const DEFAULT_TICKET_ROTATION_MS = 12 * 3600 * 1000;

function ticketRotationMs(statics: StaticConfig | null): number {
  const configured = statics?.tls?.sessionTicketRotation;
  const ms = configured === undefined ? null : parseDuration(configured);
  return ms !== null && ms > 0 ? ms : DEFAULT_TICKET_ROTATION_MS;
}

/** How often the generated default certificate's expiry is checked (it is renewed 30 days ahead). */
const DEFAULT_CERT_CHECK_MS = 24 * 3600 * 1000;

/** Node certificates are valid this long by default, and renewed at half of it. */
export const DEFAULT_NODE_CERT_TTL_MS = 30 * 24 * 3600 * 1000;

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

export async function startController(opts: ControllerOptions): Promise<ControllerHandle> {
  const log = opts.logger;
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const startedAt = new Date().toISOString();

  const listen = parseAddress(opts.listen);
  const apiAddr = parseAddress(opts.api);
  if (!listen) throw new Error(`--listen: '${opts.listen}' is not host:port`);
  if (!apiAddr) throw new Error(`--api: '${opts.api}' is not host:port`);

  // Static settings: the file (if any), then flags on top.
  let staticErrors: ConfigError[] = [];
  let providerFile = opts.providerFile ? resolve(opts.providerFile) : null;
  // Read once at start, like providers.file: a change in the file needs a restart.
  let dockerConfig: DockerProviderConfig | null | undefined = opts.docker;
  let swarmConfig: SwarmProviderConfig | null | undefined = opts.swarm;
  let debounce: DebounceSettings = { quietMs: DEFAULT_DEBOUNCE_QUIET_MS, maxWaitMs: DEFAULT_DEBOUNCE_MAX_MS };
  // Read once at start, like the providers: a changed resolver needs a restart.
  let certificatesResolvers: ReadonlyMap<string, AcmeResolverSettings> = new Map();
  const readStatics = async (): Promise<StaticConfig | null> => {
    let fromFile: StaticConfig = { entryPoints: {} };
    if (opts.configFile) {
      const { loadControllerConfig } = await import('./settings/controller-config.js');
      const loaded = await loadControllerConfig(opts.configFile);
      staticErrors = loaded.errors;
      if (loaded.errors.some((e) => e.code === 'BERTH_FILE_PARSE' || e.code === 'BERTH_FILE_READ'))
        return null;
      fromFile = loaded.statics;
      providerFile ??= loaded.providerFile;
      if (dockerConfig === undefined) dockerConfig = loaded.docker;
      if (swarmConfig === undefined) swarmConfig = loaded.swarm;
      debounce = loaded.debounce;
      certificatesResolvers = loaded.certificatesResolvers;
    }
    const entryPoints = { ...fromFile.entryPoints, ...(opts.entryPoints ?? {}) };
    // Every section of the file goes on (accessLog, routeRemovalGrace, tls...): only entry points take flags.
    return {
      ...fromFile,
      entryPoints: Object.keys(entryPoints).length > 0 ? entryPoints : FALLBACK_ENTRYPOINTS,
    };
  };
  let statics = await readStatics();
  for (const e of staticErrors) log.error({ code: e.code, path: e.path, source: e.source }, e.message);
  if (!statics)
    throw new Error(`cannot use ${opts.configFile}: ${staticErrors.map((e) => e.message).join('; ')}`);

  const advertise = opts.advertise ? parseAddress(opts.advertise) : null;
  if (opts.advertise && !advertise) throw new Error(`--advertise: '${opts.advertise}' is not host:port`);
  const advertiseHost =
    advertise?.host ||
    (listen.host && listen.host !== '0.0.0.0' && listen.host !== '::' ? listen.host : hostname());
  const pki = await ensureControllerPki(dataDir, [advertiseHost]);
  if (pki.createdCa) log.info({ caFingerprint: pki.caFingerprint }, 'created the controller CA');
  if (pki.createdSigningKey) log.info('created the snapshot signing key');
  const secrets = await JoinSecrets.open(dataDir);
  const identities = await NodeIdentities.open(
    dataDir,
    pki.issueNodeCertificate,
    opts.nodeCertTtlMs ?? DEFAULT_NODE_CERT_TTL_MS,
  );
  // What the CLI presents for the API's write routes when no --api-token is set: only users who
  // can read the controller's data dir can remove nodes or rotate the join token.
  const adminToken = await loadOrCreateSecret(join(dataDir, 'admin-token'));

  // TLS material only the controller has: the generated default certificate and the shared ticket keys.
  let defaultCert = await ensureDefaultCertificate(dataDir);
  if (defaultCert.created) log.info('generated the default TLS certificate');
  let onTicketRotate: () => void = () => {};
  const ticketKeys = new TicketKeyRing({
    dataDir,
    rotationMs: ticketRotationMs(statics),
    onRotate: () => onTicketRotate(),
    onError: (err) =>
      log.error(
        { code: ErrorCodes.TLS_STATE_WRITE, err: err.message },
        'cannot store the session ticket keys; the current ones stay in use',
      ),
  });
  await ticketKeys.start();

  const store = await SnapshotStore.open(dataDir);
  for (const w of store.warnings) log.warn({ code: w.code }, w.message);

  const distributor = new Distributor({
    // The chain carries the CA so nodes can check it against the fingerprint in their token.
    tls: { certPem: pki.certPem + pki.caCertPem, keyPem: pki.keyPem },
    caCertPem: pki.caCertPem,
    secrets,
    identities,
    logger: log,
    // After a restart: a node still on a stored earlier version gets a delta from it.
    loadBase: (version) => store.get(version),
    ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
    ...(opts.nodeExpiryMs ? { nodeExpiryMs: opts.nodeExpiryMs } : {}),
  });
  const bound = await distributor.listen(listen.host || '0.0.0.0', listen.port);
  // From here on something is open: a failure closes it all, so a controller that cannot start exits.
  const opened: (() => Promise<void> | void)[] = [() => ticketKeys.close(), () => distributor.close()];
  try {
    const nodesUrl = nodesUrlFor(advertiseHost, advertise?.port || bound.port);
    let joinToken = formatToken({ url: nodesUrl, caFingerprint: pki.caFingerprint, secret: secrets.current });
    const writeJoinToken = async () => {
      await writeFileAtomic(join(dataDir, 'join-token'), `${joinToken}\n`, 0o600);
      if (!opts.joinTokenFile) return;
      const path = resolve(opts.joinTokenFile);
      try {
        await writeFileAtomic(path, `${joinToken}\n`, 0o600);
      } catch (err) {
        const cause = (err as { code?: string }).code ?? (err as Error).message;
        throw Object.assign(
          new Error(
            `--join-token-file: cannot write ${path} (${cause}); its directory must exist and be writable by uid ${process.getuid?.() ?? '?'}`,
          ),
          { code: ErrorCodes.JOIN_TOKEN_FILE },
        );
      }
    };
    await writeJoinToken();
    const rotateJoinToken = async (graceMs: number) => {
      const rotated = await secrets.rotate(graceMs);
      joinToken = formatToken({ url: nodesUrl, caFingerprint: pki.caFingerprint, secret: rotated.secret });
      await writeJoinToken();
      log.warn(
        { previousExpiresAt: rotated.previousExpiresAt, graceMs },
        rotated.previousExpiresAt
          ? 'rotated the join token; the previous one enrolls nodes until previousExpiresAt'
          : 'rotated the join token; the previous one is refused from now on',
      );
      return { token: joinToken, previousExpiresAt: rotated.previousExpiresAt };
    };
    if (store.current) distributor.publish(pki.snapshotSigner.sign(store.current));

    // Compile and publish, one at a time, always from the latest inputs.
    let lastCompile: CompileResult | null = null;
    let provider: FileProvider | null = null;
    let pipeline: Promise<void> = Promise.resolve();
    let reportedErrors = new Set<string>();
    const extraProviders = [...(opts.providers ?? [])];
    // Problems of providers themselves (not of the file): they stay listed for the controller's life.
    const providerErrors: ConfigError[] = [];
    // The Docker provider whose connection /api/v1/status shows: from the settings, or one passed in.
    let docker = extraProviders.find((p): p is DockerProvider => p.name === DOCKER) ?? null;
    if (dockerConfig) {
      const [{ createDockerProvider }, { decodeContainers }] = await dockerModules();
      const created = createDockerProvider(dockerConfig, {
        decode: opts.dockerDecoder ?? decodeContainers,
        logger: log,
      });
      if (created.ok) {
        docker = created.provider;
        extraProviders.push(docker);
      } else {
        providerErrors.push(created.error);
        log.error({ code: created.error.code, path: created.error.path }, created.error.message);
      }
    }
    let swarm = extraProviders.find((p): p is SwarmProvider => p.name === SWARM) ?? null;
    if (swarmConfig) {
      const [{ createSwarmProvider }, { decodeSwarm }] = await swarmModules();
      const created = createSwarmProvider(swarmConfig, {
        decode: opts.swarmDecoder ?? decodeSwarm,
        logger: log,
      });
      if (created.ok) {
        swarm = created.provider;
        extraProviders.push(swarm);
      } else {
        providerErrors.push(created.error);
        log.error({ code: created.error.code, path: created.error.path }, created.error.message);
      }
    }
    // A controller that runs for months renews its generated default certificate before it expires.
    const renewal = setInterval(() => {
      void ensureDefaultCertificate(dataDir).then(
        (next) => {
          if (!next.created) return;
          defaultCert = next;
          log.info('renewed the generated default TLS certificate');
          void recompile('default certificate renewed');
        },
        (err: unknown) =>
          log.error({ err: (err as Error).message }, 'cannot renew the default TLS certificate'),
      );
    }, DEFAULT_CERT_CHECK_MS);
    renewal.unref();
    opened.push(() => clearInterval(renewal));
    // Made for the first certificate other than the generated default (which has no responder).
    let ocsp: OcspStapler | null = null;
    const trackOcsp = async (certificates: { certPem: string; names: string[] }[]) => {
      if (ocsp === null) {
        if (!certificates.some((c) => c.certPem !== defaultCert.certPem)) return;
        const { OcspStapler } = await import('./tls/ocsp-stapler.js');
        ocsp = new OcspStapler({ logger: log, onUpdate: () => void recompile('OCSP response updated') });
      }
      ocsp.track(certificates);
    };
    // The only ACME client: orders for the routers' certResolvers, answers published to every node.
    let acme: AcmeManager | null = null;
    let acmeSnapshot: typeof import('./acme/acme-snapshot.js') | null = null;
    const recompile = (reason: string) => {
      pipeline = pipeline.then(async () => {
        if (!statics) return;
        const raw = [...(provider?.current() ?? []), ...extraProviders.flatMap((p) => p.current())];
        const parts: ProviderPart[] = await resolveFileReferences(raw);
        const compiled = compile(parts, statics, {
          tls: {
            generatedDefault: { certPem: defaultCert.certPem, keyPem: defaultCert.keyPem },
            sessionTicketKeys: ticketKeys.keys(),
            ocsp: (fingerprint) => ocsp?.get(fingerprint),
          },
        });
        let result = compiled;
        const asksForCertificates =
          Object.values(compiled.body.http.routers).some((r) => r.tls?.certResolver !== undefined) ||
          Object.values(compiled.body.tcp?.routers ?? {}).some((r) => r.tls?.certResolver !== undefined);
        if (acme !== null || asksForCertificates) {
          acmeSnapshot ??= await import('./acme/acme-snapshot.js');
          const sources = acmeSnapshot.routerSources(compiled);
          const requests = acmeSnapshot.acmeRequests(compiled, certificatesResolvers, sources);
          await acme?.sync(requests.requests);
          result = acmeSnapshot.withAcme(compiled, {
            certificates: acme?.certificates() ?? [],
            challenges: acme?.challenges(),
            errors: [
              ...acmeSnapshot.challengeEntryPointErrors(certificatesResolvers, statics.entryPoints),
              ...requests.errors,
              ...(acme?.errors(sources) ?? []),
            ],
            now: new Date(),
            ocsp: (fingerprint) => ocsp?.get(fingerprint),
          });
        }
        const tls = result.body.tls;
        await trackOcsp(tls === undefined ? [] : [...tls.certificates, tls.defaultCertificate]);
        lastCompile = { ...result, errors: [...staticErrors, ...providerErrors, ...result.errors] };
        const seen = new Set<string>();
        for (const e of lastCompile.errors) {
          const key = canonicalJson(e);
          seen.add(key);
          if (!reportedErrors.has(key))
            log.warn(
              { code: e.code, path: e.path, source: e.source, severity: e.severity ?? 'error' },
              e.message,
            );
        }
        reportedErrors = seen;
        try {
          const { snapshot, changed } = await store.publish(result.body);
          // The stored body in place of the compiler's equal one: a second 10,000-element body
          // kept for the API (which reads the statuses, not the body) would be memory for nothing.
          if (lastCompile !== null) lastCompile = { ...lastCompile, body: snapshot.body };
          if (changed) {
            log.info(
              {
                version: snapshot.version,
                hash: snapshot.hash.slice(0, 12),
                reason,
                routers: Object.keys(result.body.http.routers).length,
                errors: lastCompile.errors.length,
              },
              'published snapshot',
            );
          }
          distributor.publish(pki.snapshotSigner.sign(snapshot));
        } catch (err) {
          log.error(
            { err: (err as Error).message },
            'cannot persist the snapshot; nodes keep the previous one',
          );
        }
      });
      // One failed compile must not stop every later one: logged, and the pipeline goes on.
      pipeline = pipeline.catch((err: unknown) =>
        log.error(
          { err: (err as Error)?.message ?? String(err), reason },
          'compile failed; nodes keep the previous snapshot',
        ),
      );
      return pipeline;
    };

    // Read once at start, like the providers: a burst of provider changes (an editor's save, a
    // `docker compose up` of 30 containers) becomes one compile and one version.
    const settings = { ...debounce, ...opts.debounce };
    const debouncer = createChangeDebouncer(settings, (reasons) => void recompile(reasons.join(', ')));
    opened.push(() => debouncer.cancel());

    onTicketRotate = () => void recompile('session ticket keys rotated');
    opened.push(() => ocsp?.close());

    if (providerFile) {
      provider = new FileProvider({
        path: providerFile,
        logger: log,
        debounceMs: settings.quietMs,
        debounceMaxMs: settings.maxWaitMs,
      });
      const started = provider;
      opened.push(() => started.close());
      await provider.start();
      // Subscribed after the first read: the compile below covers it, so start-up compiles once.
      provider.onChange(() => debouncer.trigger('file changed'));
    }
    for (const extra of extraProviders) {
      opened.push(() => extra.close());
      await extra.start();
      extra.onChange(() => debouncer.trigger(`${extra.name} changed`));
    }
    if (!providerFile && extraProviders.length === 0) {
      log.warn('no dynamic configuration: give --file, or providers.file in --config');
    }
    if (certificatesResolvers.size > 0) {
      const { AcmeManager } = await import('./acme/acme-manager.js');
      acme = new AcmeManager({
        resolvers: certificatesResolvers,
        dataDir,
        logger: log,
        publish: async (why) => {
          await recompile(why);
          const current = store.current;
          return current === null
            ? null
            : { epoch: store.epoch, version: current.version, acme: current.body.acme };
        },
        whenApplied: (epoch, version, signal) => distributor.whenApplied(epoch, version, signal),
        connectedNodes: () => distributor.list().filter((n) => n.connected).length,
        onNodesChange: (cb) => distributor.onChange(cb),
        ...(opts.acmeTiming ? { timing: opts.acmeTiming } : {}),
      });
      const started = acme;
      opened.push(() => started.close());
    }
    await recompile('start');

    // Entry points live in the static file; a change reaches nodes in the next snapshot.
    let staticWatcher: FSWatcher | null = null;
    let staticTimer: NodeJS.Timeout | null = null;
    if (opts.configFile) {
      const file = resolve(opts.configFile);
      staticWatcher = watch(dirname(file), (_event, name) => {
        if (name !== null && name !== basename(file)) return;
        if (staticTimer) clearTimeout(staticTimer);
        staticTimer = setTimeout(async () => {
          const before = providerFile;
          const next = await readStatics();
          if (!next) {
            log.error({ file }, 'static configuration unreadable; keeping the previous entry points');
            void recompile('static config error');
            return;
          }
          if (providerFile !== before)
            log.warn('providers changed in the config file; restart the controller to apply');
          providerFile = before;
          statics = next;
          ticketKeys.setRotation(ticketRotationMs(next));
          void recompile('static config changed');
        }, 200);
      });
      opened.push(() => {
        staticWatcher?.close();
        if (staticTimer) clearTimeout(staticTimer);
      });
    }

    // The API stays on loopback unless asked; off loopback it always requires a bearer token.
    let apiToken = opts.apiToken;
    if (!apiToken && !isLoopback(apiAddr.host)) {
      apiToken = await loadOrCreateSecret(join(dataDir, 'api-token'));
      log.warn(
        { file: join(dataDir, 'api-token') },
        'API bound off loopback: bearer token required (see file)',
      );
    }
    const api = buildApi({
      store,
      nodes: distributor,
      state: () => ({
        compile: lastCompile,
        startedAt,
        epoch: store.epoch,
        ...(docker === null ? {} : { docker: docker.status() }),
        ...(swarm === null ? {} : { swarm: swarm.status() }),
        ...(acme === null ? {} : { acme: acme.status() }),
      }),
      ...(apiToken ? { authToken: apiToken } : {}),
      admin: {
        token: adminToken,
        revokeNode: (id) => distributor.revoke(id),
        rotateJoinToken,
      },
      allowedHosts: [...(opts.apiHosts ?? []), ...(apiAddr.host ? [apiAddr.host] : [])],
      log,
    });
    opened.push(() => api.close());
    await api.listen({ host: apiAddr.host || '0.0.0.0', port: apiAddr.port }).catch((err: unknown) => {
      throw new Error(`--api: cannot listen on ${formatAddress(apiAddr)}: ${(err as Error).message}`);
    });
    const apiBound = api.server.address();
    const apiPort = typeof apiBound === 'object' && apiBound ? apiBound.port : apiAddr.port;
    const apiUrl = `http://${hostForUrl(apiAddr.host || '127.0.0.1')}:${apiPort}`;
    log.info(
      {
        api: apiUrl,
        nodes: nodesUrl,
        listen: formatAddress({ host: listen.host, port: bound.port }),
        version: store.current?.version ?? 0,
      },
      'controller ready',
    );

    return {
      apiUrl,
      nodesUrl,
      get joinToken() {
        return joinToken;
      },
      store,
      distributor,
      async close() {
        staticWatcher?.close();
        if (staticTimer) clearTimeout(staticTimer);
        await provider?.close();
        for (const extra of extraProviders) await extra.close();
        debouncer.cancel();
        ticketKeys.close();
        clearInterval(renewal);
        ocsp?.close();
        acme?.close();
        await pipeline;
        await api.close();
        await distributor.close();
      },
    };
  } catch (err) {
    for (const close of opened.reverse()) await Promise.resolve(close()).catch(() => {});
    throw err;
  }
}
