// Validates the tcp section: routers (TCP rules, TLS), services, middlewares and servers transports.
import { parseAddress } from '../address.js';
import { ConfigErrorCodes } from '../errors.js';
import type {
  TcpConfig,
  TcpMiddleware,
  TcpRouter,
  TcpRouterTls,
  TcpServersTransport,
  TcpService,
} from '../model.js';
import { parseTcpRule } from '../rule/tcp-rule.js';
import type { RuleNode } from '../rule/types.js';
import { cidrCheck, ruleCode } from './checks.js';
import { type Field, readFields } from './fields.js';
import { readNamed } from './named.js';
import type { Element, Reporter, Trail } from './report.js';
import { tcpRouterTlsShape, tlsKind } from './router-tls.js';
import { parseInSyntax, readRuleSyntax } from './rule-syntax.js';
import { proxyProtocolShape, readOneKind } from './services.js';
import { type Kind, readKind, readShape, type Shape, type ValueProblem } from './shape.js';
import {
  describeValue,
  isPresent,
  isRecord,
  readNonNegativeInteger,
  readRequiredString,
  readStringList,
} from './values.js';

const str: Kind = { kind: 'string' };
const bool: Kind = { kind: 'boolean' };
const duration: Kind = { kind: 'duration' };

export function readTcp(value: unknown, at: Trail, reporter: Reporter): TcpConfig {
  const tcp: TcpConfig = { routers: {}, services: {} };
  if (!isRecord(value)) {
    reporter.report(ConfigErrorCodes.INVALID_TYPE, at, `tcp must be a mapping, got ${describeValue(value)}`);
    return tcp;
  }
  const fields = readFields(
    value,
    at,
    { subject: 'the tcp section', supported: ['routers', 'services', 'middlewares', 'serversTransports'] },
    reporter,
  );
  if (isPresent(fields.routers)) {
    tcp.routers = readNamed(fields.routers.value, fields.routers.at, 'tcp router', reporter, readTcpRouter);
  }
  if (isPresent(fields.services)) {
    const { value: v, at: a } = fields.services;
    tcp.services = readNamed(v, a, 'tcp service', reporter, readTcpService);
  }
  if (isPresent(fields.middlewares)) {
    const { value: v, at: a } = fields.middlewares;
    tcp.middlewares = readNamed(v, a, 'tcp middleware', reporter, readTcpMiddleware);
  }
  if (isPresent(fields.serversTransports)) {
    const { value: v, at: a } = fields.serversTransports;
    tcp.serversTransports = readNamed(v, a, 'tcp servers transport', reporter, readTcpServersTransport);
  }
  return tcp;
}

function readTcpRouter(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): TcpRouter | undefined {
  const fields = readFields(
    value,
    at,
    {
      subject,
      supported: ['rule', 'service', 'entryPoints', 'middlewares', 'priority', 'tls', 'ruleSyntax'],
    },
    el,
  );
  const ruleAt = fields.rule?.at ?? at.child('rule');
  const rule = readRequiredString(fields.rule, ruleAt, `${subject}: rule`, el);
  const ruleSyntax = readRuleSyntax(fields.ruleSyntax, subject, el);
  let ast: RuleNode | undefined;
  if (rule !== undefined) {
    const parsed = parseInSyntax(rule, ruleSyntax, parseTcpRule);
    if (parsed.ok) ast = parsed.ast;
    else
      el.report(
        ruleCode(parsed.error.code),
        ruleAt,
        `${subject}: rule ${JSON.stringify(rule)}: ${parsed.error.message}`,
      );
  }
  const service = readRequiredString(fields.service, at.child('service'), `${subject}: service`, el);
  const entryPoints = readStringList(fields.entryPoints, `${subject}: entryPoints`, el);
  const middlewares = readStringList(fields.middlewares, `${subject}: middlewares`, el);
  const priority = readNonNegativeInteger(fields.priority, `${subject}: priority`, el);
  const tls = isPresent(fields.tls)
    ? (readKind(fields.tls, `${subject}: tls`, tlsKind(tcpRouterTlsShape), el) as TcpRouterTls | undefined)
    : undefined;
  if (ast !== undefined && tls === undefined && el.ok) {
    const needs = tlsOnlyCall(ast);
    if (needs !== undefined) {
      el.report(
        ConfigErrorCodes.TCP_RULE_NEEDS_TLS,
        ruleAt,
        `${subject}: rule ${JSON.stringify(rule)}: ${needs.what} at column ${needs.column} requires tls on the router, ` +
          'since only a TLS connection carries a server name or ALPN; add tls (or tls.passthrough), or match every connection with HostSNI(`*`)',
      );
    }
  }
  if (rule === undefined || service === undefined || !el.ok) return undefined;
  const router: TcpRouter = { rule, service };
  if (entryPoints !== undefined) router.entryPoints = entryPoints;
  if (middlewares !== undefined) router.middlewares = middlewares;
  if (priority !== undefined) router.priority = priority;
  if (ruleSyntax !== undefined) router.ruleSyntax = ruleSyntax;
  if (tls !== undefined) router.tls = tls;
  return router;
}

/**
 * The first matcher that only means something on a TLS connection, as Traefik refuses it on a
 * router without `tls`: HostSNI with a name (only `*` works on plain TCP), HostSNIRegexp, ALPN.
 */
function tlsOnlyCall(node: RuleNode): { what: string; column: number } | undefined {
  switch (node.kind) {
    case 'call': {
      const name = node.name.toLowerCase();
      if (name === 'hostsni' && node.args.some((arg) => arg !== '*'))
        return { what: `${node.name} with a name`, column: node.column };
      if (name === 'hostsniregexp' || name === 'alpn') return { what: node.name, column: node.column };
      return undefined;
    }
    case 'not':
      return tlsOnlyCall(node.operand);
    case 'and':
    case 'or':
      return tlsOnlyCall(node.left) ?? tlsOnlyCall(node.right);
  }
}

/** A server of a TCP service is dialled at `host:port`: a host and a real port are both needed. */
function serverAddressCheck(text: string): ValueProblem | null {
  const parsed = parseAddress(text.trim());
  return parsed !== null && parsed.host !== '' && parsed.port > 0
    ? null
    : {
        code: ConfigErrorCodes.INVALID_ADDRESS,
        message: `${JSON.stringify(text)} is not a server address; expected 'host:port' like '10.0.0.2:5432' or '[2001:db8::2]:22', with a port from 1 to 65535`,
      };
}

const tcpLoadBalancerShape: Shape = {
  fields: {
    servers: {
      kind: 'objectList',
      shape: {
        fields: {
          address: { kind: 'string', check: serverAddressCheck },
          weight: { kind: 'integer', min: 0 },
          tls: bool,
        },
        required: ['address'],
      },
    },
    serversTransport: str,
    proxyProtocol: { kind: 'object', shape: proxyProtocolShape },
    // Traefik v2 wrote milliseconds as a plain integer here; negative means wait forever.
    terminationDelay: { kind: 'integer' },
    healthCheck: {
      kind: 'object',
      shape: {
        fields: {
          port: { kind: 'integer', min: 1, max: 65535 },
          send: str,
          expect: str,
          interval: duration,
          unhealthyInterval: duration,
          timeout: duration,
        },
      },
    },
  },
};

const tcpWeightedShape: Shape = {
  fields: {
    services: {
      kind: 'objectList',
      nonEmpty: true,
      shape: { fields: { name: str, weight: { kind: 'integer', min: 0 } }, required: ['name'] },
    },
    // Traefik's `healthCheck: {}`: Berth always follows the health of child services.
    healthCheck: { kind: 'object', shape: { fields: {} } },
  },
  required: ['services'],
};

const TCP_SERVICE_KINDS: Readonly<Record<keyof TcpService, Shape>> = {
  loadBalancer: tcpLoadBalancerShape,
  weighted: tcpWeightedShape,
};

function readTcpService(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): TcpService | undefined {
  return readOneKind<TcpService>(value, at, subject, el, TCP_SERVICE_KINDS);
}

const ipAllowListShape: Shape = {
  fields: { sourceRange: { kind: 'stringList', nonEmpty: true, check: cidrCheck } },
  required: ['sourceRange'],
};

const TCP_MIDDLEWARE_KINDS: Readonly<Record<keyof TcpMiddleware, Shape>> = {
  ipAllowList: ipAllowListShape,
  inFlightConn: { fields: { amount: { kind: 'integer', min: 1 } }, required: ['amount'] },
};

/** Traefik v2's name, still common in labels. */
const TCP_MIDDLEWARE_ALIASES: Readonly<Record<string, keyof TcpMiddleware>> = { ipWhiteList: 'ipAllowList' };

function readTcpMiddleware(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): TcpMiddleware | undefined {
  const kinds = Object.keys(TCP_MIDDLEWARE_KINDS) as Array<keyof TcpMiddleware>;
  const fields: Partial<Record<string, Field>> = readFields(
    value,
    at,
    { subject, supported: [...kinds, ...Object.keys(TCP_MIDDLEWARE_ALIASES)] },
    el,
  );
  const present = Object.entries(fields).filter(
    ([, field]) => field !== undefined && field.value !== undefined,
  );
  if (present.length !== 1) {
    if (present.length === 0 && !el.ok) return undefined;
    el.report(
      ConfigErrorCodes.MIDDLEWARE_KIND,
      at,
      present.length === 0
        ? `${subject} must set exactly one kind: ${kinds.join(', ')}`
        : `${subject} sets several kinds (${present.map(([name]) => name).join(', ')}); a middleware has exactly one`,
    );
    return undefined;
  }
  const [written, field] = present[0]!;
  const kind = TCP_MIDDLEWARE_ALIASES[written] ?? (written as keyof TcpMiddleware);
  // Both kinds have a required field, so an empty block is read (and reported) as a mapping.
  const options = readKind(
    { value: field!.value ?? {}, at: field!.at },
    `${subject} ${kind}`,
    { kind: 'object', shape: TCP_MIDDLEWARE_KINDS[kind] },
    el,
  );
  if (options === undefined || !el.ok) return undefined;
  return { [kind]: options } as TcpMiddleware;
}

const tcpTransportShape: Shape = {
  fields: {
    dialTimeout: duration,
    dialKeepAlive: duration,
    terminationDelay: duration,
    proxyProtocol: { kind: 'object', shape: proxyProtocolShape },
    tls: {
      kind: 'object',
      shape: {
        fields: {
          serverName: str,
          insecureSkipVerify: bool,
          rootCAs: { kind: 'stringList' },
          certificates: {
            kind: 'objectList',
            shape: { fields: { certFile: str, keyFile: str }, required: ['certFile', 'keyFile'] },
          },
        },
        unsupported: ['peerCertURI', 'peerCertSANs', 'spiffe'],
      },
    },
    idleTimeout: duration,
  },
};

function readTcpServersTransport(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): TcpServersTransport | undefined {
  const read = readShape(value, at, subject, tcpTransportShape, el);
  return read === undefined || !el.ok ? undefined : (read as TcpServersTransport);
}
