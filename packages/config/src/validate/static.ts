// Validates raw static configuration: entry points every proxy node listens on, access log, route removal grace.
import { parseAddress } from '../address.js';
import { ConfigErrorCodes } from '../errors.js';
import type { AccessLogSettings, EntryPoint, StaticConfig } from '../model.js';
import { cidrCheck } from './checks.js';
import { readFields } from './fields.js';
import { readNamed } from './named.js';
import { type Element, Reporter, Trail, type Validated, type ValidateOptions } from './report.js';
import { type Kind, readKind, readShape, type Shape } from './shape.js';
import { describeValue, isPresent, isRecord } from './values.js';

/** Never throws; an entry point with a bad address is dropped alone and reported. */
export function validateStatic(raw: unknown, opts: ValidateOptions = {}): Validated<StaticConfig> {
  const reporter = new Reporter(opts.sourceOf);
  const config: StaticConfig = { entryPoints: {} };
  const root = Trail.root();
  if (raw === null || raw === undefined) return { config, errors: reporter.errors };
  if (!isRecord(raw)) {
    reporter.report(
      ConfigErrorCodes.INVALID_TYPE,
      root,
      `static configuration must be a mapping of sections, got ${describeValue(raw)}`,
    );
    return { config, errors: reporter.errors };
  }
  const sections = readFields(
    raw,
    root,
    {
      subject: 'static configuration',
      supported: ['entryPoints', 'accessLog', 'routeRemovalGrace'],
      unknownIsUnsupported: true,
      noun: 'section',
    },
    reporter,
  );
  if (isPresent(sections.entryPoints)) {
    const { value, at } = sections.entryPoints;
    config.entryPoints = readNamed(value, at, 'entry point', reporter, readEntryPoint);
  }
  // A broken setting is left out (so its default applies) rather than failing the whole file.
  if (isPresent(sections.accessLog)) {
    const { value, at } = sections.accessLog;
    const el = reporter.element();
    const accessLog = readShape(value, at, 'accessLog', accessLogShape, el);
    if (accessLog !== undefined && el.ok) config.accessLog = accessLog as AccessLogSettings;
  }
  if (isPresent(sections.routeRemovalGrace)) {
    const grace = readKind(sections.routeRemovalGrace, 'routeRemovalGrace', duration, reporter);
    if (typeof grace === 'string') config.routeRemovalGrace = grace;
  }
  return { config, errors: reporter.errors };
}

const duration: Kind = { kind: 'duration' };

const entryPointShape: Shape = {
  fields: {
    address: { kind: 'string' },
    transport: {
      kind: 'object',
      shape: {
        fields: {
          respondingTimeouts: {
            kind: 'object',
            shape: { fields: { readTimeout: duration, writeTimeout: duration, idleTimeout: duration } },
          },
          lifeCycle: {
            kind: 'object',
            shape: { fields: { graceTimeOut: duration }, unsupported: ['requestAcceptGraceTimeout'] },
          },
        },
        unsupported: ['keepAliveMaxRequests', 'keepAliveMaxTime'],
      },
    },
    forwardedHeaders: {
      kind: 'object',
      shape: {
        fields: { trustedIPs: { kind: 'stringList', check: cidrCheck }, insecure: { kind: 'boolean' } },
        unsupported: ['connection'],
      },
    },
    http: {
      kind: 'object',
      shape: {
        fields: { maxHeaderBytes: { kind: 'integer', min: 1 }, middlewares: { kind: 'stringList' } },
        unsupported: ['redirections', 'tls', 'encodeQuerySemicolons', 'sanitizePath'],
      },
    },
  },
  required: ['address'],
  unsupported: ['asDefault', 'http2', 'http3', 'observability', 'proxyProtocol', 'reusePort', 'udp'],
};

const accessLogShape: Shape = {
  fields: { enabled: { kind: 'boolean' }, sampling: { kind: 'number', min: 0, max: 1 } },
  unsupported: ['filePath', 'format', 'bufferingSize', 'filters', 'fields', 'addInternals'],
};

function readEntryPoint(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): EntryPoint | undefined {
  const read = readShape(value, at, subject, entryPointShape, el);
  const address = read?.['address'];
  if (typeof address !== 'string') return undefined;
  if (parseAddress(address) === null) {
    el.report(
      ConfigErrorCodes.INVALID_ADDRESS,
      at.child('address'),
      `${subject}: address ${JSON.stringify(address)} is not valid; expected ':port', 'host:port' or '[ipv6]:port' with a port from 0 to 65535`,
    );
    return undefined;
  }
  return el.ok ? (read as unknown as EntryPoint) : undefined;
}
