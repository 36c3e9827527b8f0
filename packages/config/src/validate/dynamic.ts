// Validates raw dynamic configuration (parsed YAML, JSON or labels) into the model, element by element.
import { ConfigErrorCodes } from '../errors.js';
import {
  type DynamicConfig,
  emptyDynamicConfig,
  type HttpConfig,
  type HttpRouter,
  type RouterTls,
} from '../model.js';
import { parseRule } from '../rule/parser.js';
import { ruleCode } from './checks.js';
import { readFields } from './fields.js';
import { readMiddleware } from './middlewares.js';
import { readNamed } from './named.js';
import { type Element, Reporter, Trail, type Validated, type ValidateOptions } from './report.js';
import { routerTlsShape, tlsKind } from './router-tls.js';
import { parseInSyntax, readRuleSyntax } from './rule-syntax.js';
import { readServersTransport, readService } from './services.js';
import { readKind } from './shape.js';
import { readTcp } from './tcp.js';
import { readTls } from './tls.js';
import { readUdp } from './udp.js';
import {
  describeValue,
  isPresent,
  isRecord,
  readNonNegativeInteger,
  readRequiredString,
  readStringList,
} from './values.js';

/**
 * Never throws. A broken router or service is dropped alone and reported; everything valid
 * around it is kept, so one typo does not take a whole provider's routes down.
 */
export function validateDynamic(raw: unknown, opts: ValidateOptions = {}): Validated<DynamicConfig> {
  const reporter = new Reporter(opts.sourceOf, opts.memo);
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
    {
      subject: 'dynamic configuration',
      supported: ['http', 'tcp', 'udp', 'tls'],
      unknownIsUnsupported: true,
      noun: 'section',
    },
    reporter,
  );
  if (isPresent(sections.http)) config.http = readHttp(sections.http.value, sections.http.at, reporter);
  // Absent sections stay absent, so HTTP-only configurations hash as they always did.
  if (isPresent(sections.tcp)) config.tcp = readTcp(sections.tcp.value, sections.tcp.at, reporter);
  if (isPresent(sections.udp)) config.udp = readUdp(sections.udp.value, sections.udp.at, reporter);
  if (isPresent(sections.tls)) config.tls = readTls(sections.tls.value, sections.tls.at, reporter);
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
      supported: ['routers', 'services', 'middlewares', 'serversTransports'],
    },
    reporter,
  );
  if (isPresent(fields.routers)) {
    http.routers = readNamed(fields.routers.value, fields.routers.at, 'router', reporter, readRouter);
  }
  if (isPresent(fields.services)) {
    http.services = readNamed(fields.services.value, fields.services.at, 'service', reporter, readService);
  }
  // Absent sections stay absent, so configurations without them hash as they always did.
  if (isPresent(fields.middlewares)) {
    const { value: v, at: a } = fields.middlewares;
    http.middlewares = readNamed(v, a, 'middleware', reporter, readMiddleware);
  }
  if (isPresent(fields.serversTransports)) {
    const { value: v, at: a } = fields.serversTransports;
    http.serversTransports = readNamed(v, a, 'servers transport', reporter, readServersTransport);
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
      supported: ['rule', 'service', 'entryPoints', 'middlewares', 'priority', 'tls', 'ruleSyntax'],
      unsupported: ['observability'],
    },
    el,
  );
  const ruleAt = at.child('rule');
  const rule = readRequiredString(fields.rule, ruleAt, `${subject}: rule`, el);
  const ruleSyntax = readRuleSyntax(fields.ruleSyntax, subject, el);
  if (rule !== undefined) {
    const parsed = parseInSyntax(rule, ruleSyntax, parseRule);
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
  const tls = isPresent(fields.tls)
    ? (readKind(fields.tls, `${subject}: tls`, tlsKind(routerTlsShape), el) as RouterTls | undefined)
    : undefined;
  if (rule === undefined || service === undefined) return undefined;
  const router: HttpRouter = { rule, service };
  if (entryPoints !== undefined) router.entryPoints = entryPoints;
  if (middlewares !== undefined) router.middlewares = middlewares;
  if (priority !== undefined) router.priority = priority;
  if (ruleSyntax !== undefined) router.ruleSyntax = ruleSyntax;
  if (tls !== undefined) router.tls = tls;
  return router;
}
