// Validates http.services (exactly one of loadBalancer, weighted, mirroring, failover, highestRandomWeight) and http.serversTransports.
import { ConfigErrorCodes } from '../errors.js';
import type { HttpService, ServersTransport } from '../model.js';
import { normaliseStatusSpec } from '../values/status-range.js';
import {
  cookieAttributeCheck,
  cookieNameCheck,
  methodCheck,
  requestPathCheck,
  serverUrlCheck,
} from './checks.js';
import { readFields } from './fields.js';
import type { Element, Trail } from './report.js';
import { type Kind, readKind, readShape, type Shape } from './shape.js';
import { cipherCheck, TLS_VERSIONS, tlsVersion } from './tls.js';
import { describeValue } from './values.js';

const str: Kind = { kind: 'string' };
const bool: Kind = { kind: 'boolean' };
const duration: Kind = { kind: 'duration' };
/**
 * Traefik's `healthCheck: {}` on services made of services. Berth always follows the health of
 * child services, so the block is accepted and changes nothing.
 */
const serviceHealthCheck: Kind = { kind: 'object', shape: { fields: {} } };

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
    url: { kind: 'string', check: serverUrlCheck },
    weight: { kind: 'integer', min: 0 },
    preservePath: bool,
  },
  required: ['url'],
};

const loadBalancerShape: Shape = {
  fields: {
    servers: { kind: 'objectList', shape: serverShape },
    strategy: {
      kind: 'custom',
      read: (field, label, problems) => {
        const word = typeof field.value === 'string' ? field.value.trim().toLowerCase() : undefined;
        if (word === 'wrr' || word === 'p2c' || word === 'hrw') return word;
        if (word === 'leasttime') {
          problems.report(
            ConfigErrorCodes.UNSUPPORTED,
            field.at,
            `${label} "leasttime" is not supported by Berth yet`,
          );
          return undefined;
        }
        problems.report(
          ConfigErrorCodes.INVALID_TYPE,
          field.at,
          `${label} must be one of "wrr", "p2c", "hrw", got ${describeValue(field.value)}`,
        );
        return undefined;
      },
    },
    passHostHeader: bool,
    sticky: { kind: 'object', shape: stickyShape },
    healthCheck: {
      kind: 'object',
      shape: {
        fields: {
          // `h2c` is how Traefik asks for a plain-text gRPC check.
          scheme: { kind: 'enum', values: ['http', 'https', 'h2c'] },
          mode: { kind: 'enum', values: ['http', 'grpc'] },
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
    healthCheck: serviceHealthCheck,
  },
  required: ['services'],
};

const highestRandomWeightShape: Shape = {
  fields: {
    services: {
      kind: 'objectList',
      nonEmpty: true,
      shape: { fields: { name: str, weight: { kind: 'integer', min: 0 } }, required: ['name'] },
    },
    healthCheck: serviceHealthCheck,
  },
  required: ['services'],
};

const failoverShape: Shape = {
  fields: { service: str, fallback: str, healthCheck: serviceHealthCheck },
  required: ['service', 'fallback'],
  // Newer Traefik: fall back on chosen statuses of the main service's answer.
  unsupported: ['errors'],
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
    healthCheck: serviceHealthCheck,
  },
  required: ['service'],
};

const SERVICE_KINDS: Readonly<Record<keyof HttpService, Shape>> = {
  loadBalancer: loadBalancerShape,
  weighted: weightedShape,
  mirroring: mirroringShape,
  failover: failoverShape,
  highestRandomWeight: highestRandomWeightShape,
};

export function readService(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): HttpService | undefined {
  // Newer Traefik's middlewares on a service: unsupported, not a typo.
  return readOneKind<HttpService>(value, at, subject, el, SERVICE_KINDS, ['middlewares']);
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
    cipherSuites: { kind: 'stringList', check: cipherCheck },
    minVersion: tlsVersion,
    maxVersion: tlsVersion,
    maxIdleConnsPerHost: { kind: 'integer', min: -1 },
    // HTTP/1.1 only to https servers (h2c:// servers always speak HTTP/2).
    disableHTTP2: bool,
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
  unsupported: ['peerCertURI', 'peerCertSANs', 'spiffe'],
};

export function readServersTransport(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): ServersTransport | undefined {
  const read = readShape(value, at, subject, transportShape, el) as ServersTransport | undefined;
  const { minVersion, maxVersion } = read ?? {};
  if (
    minVersion !== undefined &&
    maxVersion !== undefined &&
    TLS_VERSIONS.indexOf(minVersion) > TLS_VERSIONS.indexOf(maxVersion)
  ) {
    el.report(
      ConfigErrorCodes.TLS_VERSION_RANGE,
      at.child('minVersion'),
      `${subject}: minVersion ${minVersion} is above maxVersion ${maxVersion}, so no TLS version is left`,
    );
  }
  return read === undefined || !el.ok ? undefined : read;
}
