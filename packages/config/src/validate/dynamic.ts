// Validates raw dynamic configuration (parsed YAML, JSON or labels) into the model, element by element.
import { type ConfigErrorCode, ConfigErrorCodes } from '../errors.js';
import {
  type DynamicConfig,
  emptyDynamicConfig,
  type HttpConfig,
  type HttpLoadBalancer,
  type HttpRouter,
  type HttpServer,
  type HttpService,
} from '../model.js';
import { parseRule } from '../rule/parser.js';
import { readFields } from './fields.js';
import { readNamed } from './named.js';
import {
  type Element,
  type Problems,
  Reporter,
  Trail,
  type Validated,
  type ValidateOptions,
} from './report.js';
import {
  describeValue,
  isPresent,
  isRecord,
  readBoolean,
  readNonNegativeInteger,
  readRequiredString,
  readStringList,
} from './values.js';

/**
 * Never throws. A broken router or service is dropped alone and reported; everything valid
 * around it is kept, so one typo does not take a whole provider's routes down.
 */
export function validateDynamic(raw: unknown, opts: ValidateOptions = {}): Validated<DynamicConfig> {
  const reporter = new Reporter(opts.sourceOf);
  const config = emptyDynamicConfig();
  const root = Trail.root();
  // An empty file parses to null: nothing configured is not a mistake.
  if (raw === null || raw === undefined) return { config, errors: reporter.errors };
  if (!isRecord(raw)) {
    reporter.report(
      ConfigErrorCodes.INVALID_TYPE,
      root,
      `dynamic configuration must be a mapping of sections, got ${describeValue(raw)}`,
    );
    return { config, errors: reporter.errors };
  }
  const sections = readFields(
    raw,
    root,
    { subject: 'dynamic configuration', supported: ['http'], unknownIsUnsupported: true, noun: 'section' },
    reporter,
  );
  if (isPresent(sections.http)) config.http = readHttp(sections.http.value, sections.http.at, reporter);
  return { config, errors: reporter.errors };
}

function readHttp(value: unknown, at: Trail, reporter: Reporter): HttpConfig {
  const http: HttpConfig = { routers: {}, services: {} };
  if (!isRecord(value)) {
    reporter.report(ConfigErrorCodes.INVALID_TYPE, at, `http must be a mapping, got ${describeValue(value)}`);
    return http;
  }
  const fields = readFields(
    value,
    at,
    {
      subject: 'the http section',
      supported: ['routers', 'services'],
      unsupported: ['middlewares', 'serversTransports'],
    },
    reporter,
  );
  if (isPresent(fields.routers)) {
    http.routers = readNamed(fields.routers.value, fields.routers.at, 'router', reporter, readRouter);
  }
  if (isPresent(fields.services)) {
    http.services = readNamed(fields.services.value, fields.services.at, 'service', reporter, readService);
  }
  return http;
}

function readRouter(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): HttpRouter | undefined {
  const fields = readFields(
    value,
    at,
    {
      subject,
      supported: ['rule', 'service', 'entryPoints', 'middlewares', 'priority'],
      unsupported: ['tls', 'ruleSyntax', 'observability'],
    },
    el,
  );
  const ruleAt = at.child('rule');
  const rule = readRequiredString(fields.rule, ruleAt, `${subject}: rule`, el);
  if (rule !== undefined) {
    const parsed = parseRule(rule);
    if (!parsed.ok) {
      el.report(
        ruleCode(parsed.error.code),
        fields.rule?.at ?? ruleAt,
        `${subject}: rule ${JSON.stringify(rule)}: ${parsed.error.message}`,
      );
    }
  }
  const service = readRequiredString(fields.service, at.child('service'), `${subject}: service`, el);
  const entryPoints = readStringList(fields.entryPoints, `${subject}: entryPoints`, el);
  const middlewares = readStringList(fields.middlewares, `${subject}: middlewares`, el);
  const priority = readNonNegativeInteger(fields.priority, `${subject}: priority`, el);
  if (rule === undefined || service === undefined) return undefined;
  const router: HttpRouter = { rule, service };
  if (entryPoints !== undefined) router.entryPoints = entryPoints;
  if (middlewares !== undefined) router.middlewares = middlewares;
  if (priority !== undefined) router.priority = priority;
  return router;
}

/** Rule errors carry plain strings; map them back onto the catalogue so the types stay closed. */
function ruleCode(code: string): ConfigErrorCode {
  const codes: readonly ConfigErrorCode[] = [
    ConfigErrorCodes.RULE_UNKNOWN_MATCHER,
    ConfigErrorCodes.RULE_ARGS,
  ];
  return codes.find((known) => known === code) ?? ConfigErrorCodes.RULE_SYNTAX;
}

function readService(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): HttpService | undefined {
  const fields = readFields(
    value,
    at,
    { subject, supported: ['loadBalancer'], unsupported: ['weighted', 'mirroring', 'failover'] },
    el,
  );
  if (!isPresent(fields.loadBalancer)) {
    // A weighted or mirroring service was already reported; "loadBalancer is required" would only add noise.
    if (el.ok) {
      el.report(
        ConfigErrorCodes.REQUIRED,
        fields.loadBalancer?.at ?? at.child('loadBalancer'),
        `${subject}: loadBalancer is required`,
      );
    }
    return undefined;
  }
  const loadBalancer = readLoadBalancer(fields.loadBalancer.value, fields.loadBalancer.at, subject, el);
  return loadBalancer === undefined ? undefined : { loadBalancer };
}

function readLoadBalancer(
  value: unknown,
  at: Trail,
  subject: string,
  el: Problems,
): HttpLoadBalancer | undefined {
  if (!isRecord(value)) {
    el.report(
      ConfigErrorCodes.INVALID_TYPE,
      at,
      `${subject}: loadBalancer must be a mapping, got ${describeValue(value)}`,
    );
    return undefined;
  }
  const fields = readFields(
    value,
    at,
    {
      subject: `${subject} loadBalancer`,
      supported: ['servers', 'passHostHeader'],
      unsupported: ['sticky', 'healthCheck', 'responseForwarding', 'serversTransport', 'strategy'],
    },
    el,
  );
  const servers = readServers(fields.servers?.value, fields.servers?.at ?? at.child('servers'), subject, el);
  const passHostHeader = readBoolean(fields.passHostHeader, `${subject}: passHostHeader`, el);
  if (servers === undefined) return undefined;
  const loadBalancer: HttpLoadBalancer = { servers };
  if (passHostHeader !== undefined) loadBalancer.passHostHeader = passHostHeader;
  return loadBalancer;
}

/** A missing list is an empty one: a service with no servers yet is valid and answers 503. */
function readServers(value: unknown, at: Trail, subject: string, el: Problems): HttpServer[] | undefined {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) {
    el.report(
      ConfigErrorCodes.INVALID_TYPE,
      at,
      `${subject}: servers must be a list, got ${describeValue(value)}`,
    );
    return undefined;
  }
  const servers: HttpServer[] = [];
  value.forEach((item: unknown, index) => {
    const server = readServer(item, at.child(String(index)), `${subject}: servers[${index}]`, el);
    if (server !== undefined) servers.push(server);
  });
  return servers.length === value.length ? servers : undefined;
}

function readServer(value: unknown, at: Trail, label: string, el: Problems): HttpServer | undefined {
  if (!isRecord(value)) {
    el.report(ConfigErrorCodes.INVALID_TYPE, at, `${label} must be a mapping, got ${describeValue(value)}`);
    return undefined;
  }
  const fields = readFields(
    value,
    at,
    { subject: label, supported: ['url', 'weight'], unsupported: ['preservePath'] },
    el,
  );
  const url = readRequiredString(fields.url, at.child('url'), `${label}: url`, el);
  const weight = readNonNegativeInteger(fields.weight, `${label}: weight`, el);
  if (url === undefined) return undefined;
  const problem = urlProblem(url);
  if (problem !== null) {
    el.report(
      ConfigErrorCodes.INVALID_URL,
      fields.url?.at ?? at.child('url'),
      `${label}: url ${JSON.stringify(url)} ${problem}`,
    );
    return undefined;
  }
  return weight === undefined ? { url } : { url, weight };
}

function urlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not an absolute URL (expected http://host:port)';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `has scheme '${url.protocol.slice(0, -1)}'; only http and https are supported`;
  }
  if (url.hostname === '') return 'has no host';
  return null;
}
