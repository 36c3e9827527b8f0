// One container's labels → its part: Traefik's defaults (default service, default router and rule,
// auto-linking, servers from the container's address), then Berth's validator, element by element.
import {
  type ConfigError,
  configError,
  type DynamicConfig,
  type Source,
  validateDynamic,
} from '@berth/config';
import type { PartSources } from '../../provider-part.js';
import type { ContainerFacts, DockerProviderSettings } from '../container-facts.js';
import { type Constraint, matchConstraints } from './constraints.js';
import { normalize, renderDefaultRule } from './default-rule.js';
import { DockerErrorCodes } from './error-codes.js';
import { buildLabelTree, childNode } from './label-tree.js';
import {
  deleteCI,
  ensureObject,
  getCI,
  isObject,
  type LabelSources,
  nodeToRaw,
  pathKey,
  setCI,
} from './raw-config.js';
import { type NetworkChoice, serverEndpoint } from './server-address.js';

export interface DecodeContext {
  settings: DockerProviderSettings;
  /** `docker` or `swarm`: the provider named in sources, and its word for the unit decoded. */
  provider: 'docker' | 'swarm';
  /** Null: no constraints; undefined: the expression is broken (reported once), nothing is routed. */
  constraints: Constraint | null | undefined;
  all: readonly ContainerFacts[];
}

export interface DecodedContainer {
  container: ContainerFacts;
  config: DynamicConfig;
  errors: ConfigError[];
  sources: PartSources;
}

/** A generated element (default router or service) has no label of its own. */
const GENERATED = '';

/** Values of these labels are secrets or hashes, kept out of messages. */
const SECRET_KEY = /users|password|secret|token|key$/i;

export function decodeContainer(c: ContainerFacts, ctx: DecodeContext): DecodedContainer | null {
  const { settings, provider } = ctx;
  const noun = provider === 'swarm' ? 'service' : 'container';
  const errors: ConfigError[] = [];
  const where = (label: string | undefined): Source =>
    label === undefined || label === GENERATED
      ? { provider, origin: c.name }
      : { provider, origin: c.name, label };
  const say = (label: string | undefined, text: string): string => {
    if (label === undefined || label === GENERATED) return `${noun} "${c.name}": ${text}`;
    const value = c.labels[label] ?? '';
    const shown = SECRET_KEY.test(label)
      ? ''
      : `=${JSON.stringify(value.length > 200 ? `${value.slice(0, 197)}...` : value)}`;
    return `${noun} "${c.name}", label ${label}${shown}: ${text}`;
  };
  const report = (code: string, path: string, label: string | undefined, text: string): void => {
    errors.push(configError(code, path, say(label, text), where(label)));
  };
  const sources: PartSources = { routers: {}, services: {} };
  const done = (config: DynamicConfig): DecodedContainer => ({ container: c, config, errors, sources });
  const empty = (): DecodedContainer => done({ http: { routers: {}, services: {} } });

  const tree = buildLabelTree(c.labels, settings.prefixes);
  for (const bad of tree.badKeys)
    report(DockerErrorCodes.LABEL_KEY, 'labels', bad.label, `${bad.reason}; the label is ignored`);

  // Provider settings of the container: enable, network, allownonrunning.
  const enableNode = childNode(tree.root, 'enable');
  let enable = settings.exposedByDefault;
  if (enableNode?.value !== undefined) {
    const flag = parseGoBool(enableNode.value);
    if (flag === undefined) {
      report(
        DockerErrorCodes.LABEL_VALUE,
        'labels',
        enableNode.label,
        'must be true or false; the container is not routed',
      );
      return empty();
    }
    enable = flag;
  }
  if (!enable) return null;
  if (ctx.constraints === undefined || !matchConstraints(ctx.constraints, c.labels)) return null;
  const dockerNode = childNode(tree.root, 'docker');
  // Swarm tasks read `traefik.swarm.network` first; `traefik.docker.network` is its deprecated spelling there.
  const swarmNetwork =
    c.swarm === undefined ? undefined : childNode(childNode(tree.root, 'swarm'), 'network');
  const networkNode = swarmNetwork ?? childNode(dockerNode, 'network');
  const network: NetworkChoice | undefined =
    networkNode?.value !== undefined && networkNode.value !== ''
      ? { name: networkNode.value, fromLabel: true }
      : settings.network !== ''
        ? { name: settings.network, fromLabel: false }
        : undefined;
  const allowNode = childNode(dockerNode, 'allownonrunning');
  let allowNonRunning = false;
  if (allowNode?.value !== undefined) {
    const flag = parseGoBool(allowNode.value);
    if (flag === undefined) {
      report(
        DockerErrorCodes.LABEL_VALUE,
        'labels',
        allowNode.label,
        'must be true or false; the container is not routed',
      );
      return empty();
    }
    allowNonRunning = flag;
  }
  const running = c.state === '' || c.state === 'running';
  const healthy = c.health === null || c.health === 'healthy';
  if (!allowNonRunning) {
    if (!running) return null;
    if (!settings.allowEmptyServices && !healthy) return null;
  }
  const withServers = running && healthy;
  /** The label an address or port problem is about: the network label when it named the network. */
  const problemLabel = (code: string, fallback: string | undefined): string | undefined =>
    code === DockerErrorCodes.ADDRESS && network?.fromLabel ? networkNode?.label : fallback;

  const labelSources: LabelSources = new Map();
  const section = (name: string): Record<string, unknown> => {
    const node = childNode(tree.root, name);
    if (node === undefined) return {};
    const raw = nodeToRaw(node, [node.name], '', labelSources);
    return isObject(raw) ? raw : {};
  };
  const http = section('http');
  const tcp = section('tcp');
  const udp = section('udp');
  const tls = section('tls');
  const labelOf = (path: readonly string[]): string | undefined => {
    for (let n = path.length; n > 0; n--) {
      const found = labelSources.get(pathKey(path.slice(0, n)));
      if (found !== undefined) return found;
    }
    return undefined;
  };

  const serviceName = normalize(
    c.compose !== undefined
      ? `${c.compose.service}_${c.compose.project}`
      : c.swarm !== undefined
        ? c.swarm.serviceName
        : c.name,
  );

  // TCP and UDP as Traefik: a default service when none is named, routers linked to the only service.
  const streamUsed = (section: Record<string, unknown>) =>
    Object.keys(objectAt(section, 'routers') ?? {}).length > 0 ||
    Object.keys(objectAt(section, 'services') ?? {}).length > 0;
  const tcpUsed = streamUsed(tcp);
  const udpUsed = streamUsed(udp);
  for (const [kind, section, used] of [
    ['tcp', tcp, tcpUsed],
    ['udp', udp, udpUsed],
  ] as const) {
    if (!used) continue;
    const label = kind.toUpperCase();
    const services = ensureObject(section, 'services');
    if (Object.keys(services).length === 0) {
      setCI(services, serviceName, { loadBalancer: {} });
      labelSources.set(pathKey([kind, 'services', serviceName]), GENERATED);
    }
    const declared = Object.keys(services);
    const routers = ensureObject(section, 'routers');
    for (const [name, router] of Object.entries(routers)) {
      if (!isObject(router)) continue;
      const svc = getCI(router, 'service');
      if (typeof svc === 'string' && svc !== '') continue;
      if (declared.length > 1) {
        report(
          DockerErrorCodes.SERVICE_AMBIGUOUS,
          `${kind}.routers.${name}.service`,
          labelOf([kind, 'routers', name]),
          `${label} router "${name}" has no service and the container defines several (${declared.join(', ')}); set its service label`,
        );
        delete routers[name];
        continue;
      }
      setCI(router, 'service', declared[0] ?? serviceName);
    }
    for (const [name, svc] of Object.entries(services)) {
      const at = [kind, 'services', name];
      // A UDP server is `address` only (no weight, no tls): the TCP filling fits it, on a UDP port.
      const problem = fillTcpServers(svc, c, network, ctx, withServers, kind);
      if (problem !== null) {
        report(
          problem.code,
          `${kind}.services.${name}`,
          problemLabel(problem.code, labelOf([...at, 'loadbalancer', 'server', 'port']) ?? labelOf(at)),
          `${label} service "${name}": ${problem.message}; the service is left out`,
        );
        delete services[name];
      }
    }
  }

  const httpUsed = Object.keys(http).length > 0;
  const buildHttp = !((tcpUsed || udpUsed) && !httpUsed);
  if (buildHttp) {
    const httpName = 'http';
    const services = ensureObject(http, 'services');
    const servicesKey = 'services';
    const generatedService = Object.keys(services).length === 0;
    if (generatedService) {
      setCI(services, serviceName, { loadBalancer: {} });
      labelSources.set(pathKey([httpName, servicesKey, serviceName]), GENERATED);
    }
    const declared = Object.keys(services);
    const routers = ensureObject(http, 'routers');
    const routersKey = 'routers';
    if (Object.keys(routers).length === 0 && declared.length <= 1) {
      setCI(routers, serviceName, {});
      labelSources.set(pathKey([httpName, routersKey, serviceName]), GENERATED);
    }
    for (const [name, router] of Object.entries(routers)) {
      if (!isObject(router)) continue;
      const at = [httpName, routersKey, name];
      const rule = getCI(router, 'rule');
      if (typeof rule !== 'string' || rule === '') {
        const rendered = renderDefaultRule(settings.defaultRule, {
          Name: serviceName,
          ContainerName: c.name,
          Labels: c.labels,
        });
        const label = labelOf(at);
        if (!rendered.ok) {
          report(
            DockerErrorCodes.DEFAULT_RULE,
            `http.routers.${name}.rule`,
            label,
            `router "${name}" has no rule and the default rule ${JSON.stringify(settings.defaultRule)} cannot be rendered: ${rendered.message}; the router is left out`,
          );
          delete routers[name];
          continue;
        }
        if (rendered.rule.trim() === '') {
          report(
            DockerErrorCodes.DEFAULT_RULE,
            `http.routers.${name}.rule`,
            label,
            `router "${name}" has no rule and the default rule renders empty; the router is left out`,
          );
          delete routers[name];
          continue;
        }
        setCI(router, 'rule', rendered.rule);
      }
      const svc = getCI(router, 'service');
      if (typeof svc !== 'string' || svc === '') {
        if (declared.length > 1) {
          report(
            DockerErrorCodes.SERVICE_AMBIGUOUS,
            `http.routers.${name}.service`,
            labelOf(at),
            `router "${name}" has no service and the container defines several (${declared.join(', ')}); set its service label`,
          );
          delete routers[name];
          continue;
        }
        setCI(router, 'service', declared[0] ?? serviceName);
      }
    }
    for (const [name, svc] of Object.entries(services)) {
      const at = [httpName, servicesKey, name];
      const problem = fillHttpServers(svc, c, network, ctx, withServers);
      if (problem !== null) {
        delete services[name];
        // The service Traefik generates for every container (Traefik's own, typically) and no router
        // of it uses: left out quietly, rather than an error about a port nobody asked for.
        const used = Object.values(routers).some((r) => {
          const target = isObject(r) ? getCI(r, 'service') : undefined;
          return target === name || target === `${name}@${provider}`;
        });
        if (generatedService && name === serviceName && !used) continue;
        report(
          problem.code,
          `http.services.${name}`,
          problemLabel(problem.code, labelOf([...at, 'loadbalancer', 'server']) ?? labelOf(at)),
          `service "${name}": ${problem.message}; the service is left out`,
        );
      }
    }
  } else {
    // A TCP- or UDP-only container gets no HTTP configuration at all, as in Traefik.
    for (const key of Object.keys(http)) delete http[key];
  }

  refuseFiles(http, tcp, tls, (path, text) =>
    report(
      DockerErrorCodes.FILE_FROM_LABEL,
      path,
      labelOf(path.split('.')),
      `${text}; it is left out (define it in a file instead)`,
    ),
  );

  const raw: Record<string, unknown> = {};
  if (buildHttp) raw.http = http;
  if (tcpUsed) raw.tcp = tcp;
  if (udpUsed) raw.udp = udp;
  if (Object.keys(tls).length > 0) raw.tls = tls;
  const validated = validateDynamic(raw, {
    sourceOf: (path) => {
      if (path.length === 0) return where(undefined);
      const found = labelSources.get(pathKey(path));
      return found === undefined ? undefined : where(found);
    },
  });
  for (const e of validated.errors) {
    const label = e.source?.label;
    errors.push({ ...e, message: say(label, e.message), source: e.source ?? where(undefined) });
  }
  const config = validated.config;
  const sourceOf = (path: string[]): Source => where(labelOf(path));
  const record = (names: Record<string, unknown> | undefined, path: string[]): Record<string, Source> =>
    Object.fromEntries(Object.keys(names ?? {}).map((n) => [n, sourceOf([...path, n])]));
  sources.routers = record(config.http.routers, ['http', 'routers']);
  sources.services = record(config.http.services, ['http', 'services']);
  const optional: Array<
    [
      Exclude<keyof PartSources, 'routers' | 'services' | 'tlsCertificates'>,
      Record<string, unknown> | undefined,
      string[],
    ]
  > = [
    ['middlewares', config.http.middlewares, ['http', 'middlewares']],
    ['serversTransports', config.http.serversTransports, ['http', 'serversTransports']],
    ['tcpRouters', config.tcp?.routers, ['tcp', 'routers']],
    ['tcpServices', config.tcp?.services, ['tcp', 'services']],
    ['tcpMiddlewares', config.tcp?.middlewares, ['tcp', 'middlewares']],
    ['tcpServersTransports', config.tcp?.serversTransports, ['tcp', 'serversTransports']],
    ['udpRouters', config.udp?.routers, ['udp', 'routers']],
    ['udpServices', config.udp?.services, ['udp', 'services']],
    ['tlsOptions', config.tls?.options, ['tls', 'options']],
    ['tlsStores', config.tls?.stores, ['tls', 'stores']],
  ];
  for (const [key, named, path] of optional) {
    if (named !== undefined && Object.keys(named).length > 0) sources[key] = record(named, path);
  }
  return done(config);
}

/**
 * Labels must not make the controller read files: certificates, keys and CAs named by paths. The
 * elements that would are removed before validation and reported.
 */
function refuseFiles(
  http: Record<string, unknown>,
  tcp: Record<string, unknown>,
  tls: Record<string, unknown>,
  refuse: (path: string, text: string) => void,
): void {
  const dropWhere = (
    named: Record<string, unknown> | undefined,
    prefix: string,
    noun: string,
    test: (el: Record<string, unknown>) => string | undefined,
  ): void => {
    for (const [name, el] of Object.entries(named ?? {})) {
      const field = isObject(el) ? test(el) : undefined;
      if (field === undefined) continue;
      refuse(`${prefix}.${name}`, `${noun} "${name}" sets ${field}, which names files`);
      delete named?.[name];
    }
  };
  const has = (el: Record<string, unknown> | undefined, ...names: string[]): string | undefined =>
    names.find((n) => getCI(el, n) !== undefined);
  dropWhere(objectAt(http, 'serversTransports'), 'http.serversTransports', 'servers transport', (el) =>
    has(el, 'rootCAs', 'certificates'),
  );
  dropWhere(objectAt(tcp, 'serversTransports'), 'tcp.serversTransports', 'TCP servers transport', (el) => {
    const t = getCI(el, 'tls');
    return isObject(t) && has(t, 'rootCAs', 'certificates') !== undefined
      ? 'tls.rootCAs or tls.certificates'
      : undefined;
  });
  dropWhere(objectAt(tls, 'options'), 'tls.options', 'TLS options', (el) => {
    const ca = getCI(el, 'clientAuth');
    return isObject(ca) && getCI(ca, 'caFiles') !== undefined ? 'clientAuth.caFiles' : undefined;
  });
  dropWhere(objectAt(tls, 'stores'), 'tls.stores', 'TLS store', (el) => has(el, 'defaultCertificate'));
  if (getCI(tls, 'certificates') !== undefined) {
    refuse('tls.certificates', 'tls.certificates names certificate and key files');
    deleteCI(tls, 'certificates');
  }
}

function objectAt(obj: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const v = getCI(obj, name);
  return isObject(v) ? v : undefined;
}

/** Go's strconv.ParseBool, which Traefik's label decoder uses. */
export function parseGoBool(text: string): boolean | undefined {
  const t = text.trim();
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(t)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(t)) return false;
  return undefined;
}

type Problem = { code: string; message: string } | null;

function fillHttpServers(
  svc: unknown,
  c: ContainerFacts,
  network: NetworkChoice | undefined,
  ctx: DecodeContext,
  withServers: boolean,
): Problem {
  if (!isObject(svc)) return null;
  const lb = getCI(svc, 'loadbalancer');
  // Weighted and mirroring services (a Berth extension for labels) have no servers of their own.
  if (!isObject(lb)) return null;
  if (getCI(lb, 'servers') !== undefined) return null;
  const rawServer = getCI(lb, 'server');
  const server = isObject(rawServer) ? { ...rawServer } : {};
  deleteCI(lb, 'server');
  const url = getCI(server, 'url');
  const port = getCI(server, 'port');
  const scheme = getCI(server, 'scheme');
  deleteCI(server, 'port');
  deleteCI(server, 'scheme');
  if (typeof url === 'string' && url !== '') {
    if (port !== undefined || scheme !== undefined) {
      return {
        code: DockerErrorCodes.SERVER_URL_AND_PORT,
        message: 'loadbalancer.server.url cannot be combined with loadbalancer.server.port or .scheme',
      };
    }
    setCI(lb, 'servers', [server]);
    return null;
  }
  if (!withServers) {
    setCI(lb, 'servers', []);
    return null;
  }
  const endpoint = serverEndpoint(
    c,
    typeof port === 'string' ? port : undefined,
    network,
    ctx.all,
    ctx.settings,
  );
  if (!endpoint.ok) return endpoint;
  const schemeText = typeof scheme === 'string' && scheme !== '' ? scheme : 'http';
  setCI(server, 'url', `${schemeText}://${endpoint.value.host}:${endpoint.value.port}`);
  setCI(lb, 'servers', [server]);
  return null;
}

function fillTcpServers(
  svc: unknown,
  c: ContainerFacts,
  network: NetworkChoice | undefined,
  ctx: DecodeContext,
  withServers: boolean,
  protocol: 'tcp' | 'udp' = 'tcp',
): Problem {
  if (!isObject(svc)) return null;
  const lb = getCI(svc, 'loadbalancer');
  if (!isObject(lb)) return null;
  if (getCI(lb, 'servers') !== undefined) return null;
  const rawServer = getCI(lb, 'server');
  const server = isObject(rawServer) ? { ...rawServer } : {};
  deleteCI(lb, 'server');
  const port = getCI(server, 'port');
  deleteCI(server, 'port');
  if (!withServers) {
    setCI(lb, 'servers', []);
    return null;
  }
  const endpoint = serverEndpoint(
    c,
    typeof port === 'string' ? port : undefined,
    network,
    ctx.all,
    ctx.settings,
    protocol,
  );
  if (!endpoint.ok) return endpoint;
  setCI(server, 'address', `${endpoint.value.host}:${endpoint.value.port}`);
  setCI(lb, 'servers', [server]);
  return null;
}
