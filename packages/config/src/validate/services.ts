// Validates http.services (exactly one of loadBalancer, weighted, mirroring) and http.serversTransports.
import { ConfigErrorCodes } from '../errors.js';
import type { HttpService, ServersTransport } from '../model.js';
import { normaliseStatusSpec } from '../values/status-range.js';
import { cookieAttributeCheck, cookieNameCheck, methodCheck, requestPathCheck, urlCheck } from './checks.js';
import { readFields } from './fields.js';
import type { Element, Trail } from './report.js';
import { type Kind, readKind, readShape, type Shape } from './shape.js';
import { describeValue } from './values.js';

const str: Kind = { kind: 'string' };
const bool: Kind = { kind: 'boolean' };
const duration: Kind = { kind: 'duration' };

/** Traefik's integer `status: 200` or Berth's ranges, both kept as a normalised string. */
const statusSpec: Kind = {
  kind: 'custom',
  read: (field, label, problems) => {
    const { value, at } = field;
    const spec = typeof value === 'string' || typeof value === 'number' ? normaliseStatusSpec(value) : null;
    if (spec !== null) return spec;
    problems.report(
      ConfigErrorCodes.INVALID_TYPE,
      at,
      `${label} must be a status code, ranges and lists like "200-299,304", or a class like "2xx" (100 to 599), got ${describeValue(value)}`,
    );
    return undefined;
  },
};

const stickyShape: Shape = {
  fields: {
    cookie: {
      kind: 'object',
      shape: {
        fields: {
          name: { kind: 'string', check: cookieNameCheck },
          secure: bool,
          httpOnly: bool,
          sameSite: { kind: 'enum', values: ['none', 'lax', 'strict', ''] },
          maxAge: { kind: 'integer' },
          path: { kind: 'string', check: cookieAttributeCheck },
          domain: { kind: 'string', check: cookieAttributeCheck },
        },
      },
    },
  },
};

const serverShape: Shape = {
  fields: {
    url: { kind: 'string', check: urlCheck },
    weight: { kind: 'integer', min: 0 },
    preservePath: bool,
  },
  required: ['url'],
};

const loadBalancerShape: Shape = {
  fields: {
    servers: { kind: 'objectList', shape: serverShape },
    strategy: { kind: 'enum', values: ['wrr', 'p2c'] },
    passHostHeader: bool,
    sticky: { kind: 'object', shape: stickyShape },
    healthCheck: {
      kind: 'object',
      shape: {
        fields: {
          scheme: { kind: 'enum', values: ['http', 'https'] },
          path: { kind: 'string', check: requestPathCheck },
          method: { kind: 'string', check: methodCheck },
          port: { kind: 'integer', min: 1, max: 65535 },
          hostname: str,
          headers: { kind: 'stringMap', headers: true },
          interval: duration,
          unhealthyInterval: duration,
          timeout: duration,
          followRedirects: bool,
          status: statusSpec,
        },
        unsupported: ['mode'],
      },
    },
    passiveHealthCheck: {
      kind: 'object',
      shape: {
        fields: {
          failureWindow: duration,
          maxFailedAttempts: { kind: 'integer', min: 1 },
          ejectTime: duration,
          maxEjectTime: duration,
        },
      },
    },
    serversTransport: str,
    responseForwarding: { kind: 'object', shape: { fields: { flushInterval: duration } } },
  },
};

const weightedShape: Shape = {
  fields: {
    services: {
      kind: 'objectList',
      nonEmpty: true,
      shape: { fields: { name: str, weight: { kind: 'integer', min: 0 } }, required: ['name'] },
    },
    sticky: { kind: 'object', shape: stickyShape },
  },
  required: ['services'],
  unsupported: ['healthCheck'],
};

const mirroringShape: Shape = {
  fields: {
    service: str,
    mirrors: {
      kind: 'objectList',
      shape: { fields: { name: str, percent: { kind: 'integer', min: 0, max: 100 } }, required: ['name'] },
    },
    mirrorBody: bool,
    maxBodySize: { kind: 'integer', min: -1 },
  },
  required: ['service'],
  unsupported: ['healthCheck'],
};

const SERVICE_KINDS: Readonly<Record<keyof HttpService, Shape>> = {
  loadBalancer: loadBalancerShape,
  weighted: weightedShape,
  mirroring: mirroringShape,
};

export function readService(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): HttpService | undefined {
  // A failover service alone is reported as unsupported.
  return readOneKind<HttpService>(value, at, subject, el, SERVICE_KINDS, ['failover']);
}

/**
 * An HTTP or TCP service: exactly one of `kinds` is set, and read with its shape. `loadBalancer:`
 * with nothing under it is a service with no servers yet: valid, it answers 503 (or closes).
 */
export function readOneKind<T extends object>(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
  kinds: Readonly<Record<keyof T & string, Shape>>,
  unsupported: string[] = [],
): T | undefined {
  const names = Object.keys(kinds) as (keyof T & string)[];
  const fields = readFields(value, at, { subject, supported: names, unsupported }, el);
  const present = names.filter((name) => fields[name] !== undefined && fields[name].value !== undefined);
  if (present.length !== 1) {
    // An unsupported kind alone was reported as such already.
    if (present.length === 0 && !el.ok) return undefined;
    const choices = `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
    el.report(
      ConfigErrorCodes.SERVICE_KIND,
      at,
      present.length === 0
        ? `${subject} must set exactly one of ${choices}`
        : `${subject} sets several kinds (${present.join(', ')}); a service has exactly one`,
    );
    return undefined;
  }
  const kind = present[0]!;
  const field = fields[kind]!;
  const options = readKind(
    { value: field.value ?? {}, at: field.at },
    `${subject} ${kind}`,
    { kind: 'object', shape: kinds[kind] },
    el,
  );
  if (options === undefined || !el.ok) return undefined;
  const record = options as Record<string, unknown>;
  if (kind === 'loadBalancer' && record['servers'] === undefined) record['servers'] = [];
  return { [kind]: record } as T;
}

/** The PROXY protocol header sent to servers: version 1 (text) or 2 (binary). */
export const proxyProtocolShape: Shape = { fields: { version: { kind: 'integer', min: 1, max: 2 } } };

const transportShape: Shape = {
  fields: {
    serverName: str,
    insecureSkipVerify: bool,
    rootCAs: { kind: 'stringList' },
    certificates: {
      kind: 'objectList',
      shape: { fields: { certFile: str, keyFile: str }, required: ['certFile', 'keyFile'] },
    },
    maxIdleConnsPerHost: { kind: 'integer', min: -1 },
    maxConnsPerHost: { kind: 'integer', min: 0 },
    proxyProtocol: { kind: 'object', shape: proxyProtocolShape },
    forwardingTimeouts: {
      kind: 'object',
      shape: {
        fields: { dialTimeout: duration, responseHeaderTimeout: duration, idleConnTimeout: duration },
        unsupported: ['readIdleTimeout', 'pingTimeout'],
      },
    },
  },
  unsupported: ['disableHTTP2', 'peerCertURI', 'spiffe'],
};

export function readServersTransport(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): ServersTransport | undefined {
  const read = readShape(value, at, subject, transportShape, el);
  return read === undefined || !el.ok ? undefined : (read as ServersTransport);
}
