// Validates raw static configuration: entry points every proxy node listens on, access log, route removal grace, TLS.
import { parseEntryPointAddress } from '../address.js';
import { ConfigErrorCodes } from '../errors.js';
import type {
  AccessLogSettings,
  CoreSettings,
  EntryPoint,
  StaticConfig,
  StaticTlsSettings,
} from '../model.js';
import { parseDuration } from '../values/duration.js';
import { cidrCheck, portCheck } from './checks.js';
import { readFields } from './fields.js';
import { readNamed } from './named.js';
import { type Element, Reporter, Trail, type Validated, type ValidateOptions } from './report.js';
import { routerTlsShape, tlsKind } from './router-tls.js';
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
      supported: ['entryPoints', 'accessLog', 'routeRemovalGrace', 'tls', 'core'],
      unknownIsUnsupported: true,
      noun: 'section',
    },
    reporter,
  );
  if (isPresent(sections.entryPoints)) {
    const { value, at } = sections.entryPoints;
    // Redirections name other entry points; the names as written count, even of a broken one.
    const names = new Set(isRecord(value) ? Object.keys(value) : []);
    config.entryPoints = readNamed(value, at, 'entry point', reporter, (raw, where, subject, el) =>
      readEntryPoint(raw, where, subject, el, names),
    );
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
  if (isPresent(sections.tls)) {
    const { value, at } = sections.tls;
    const el = reporter.element();
    const tls = readShape(value, at, 'tls', staticTlsShape, el);
    if (tls !== undefined && el.ok) config.tls = tls as StaticTlsSettings;
  }
  if (isPresent(sections.core)) {
    const { value, at } = sections.core;
    const el = reporter.element();
    const core = readShape(value, at, 'core', coreShape, el);
    if (core !== undefined && el.ok) config.core = core as CoreSettings;
  }
  return { config, errors: reporter.errors };
}

// Traefik refuses to start on any other defaultRuleSyntax; Berth leaves the setting out (v3) and says why.
const coreShape: Shape = {
  fields: { defaultRuleSyntax: { kind: 'enum', values: ['v2', 'v3'] } },
};

const duration: Kind = { kind: 'duration' };

const entryPointShape: Shape = {
  fields: {
    http2: {
      kind: 'object',
      shape: {
        fields: {
          maxConcurrentStreams: { kind: 'integer', min: 1 },
          keepAlive: { kind: 'object', shape: { fields: { interval: duration, timeout: duration } } },
        },
      },
    },
    address: { kind: 'string' },
    udp: { kind: 'object', shape: { fields: { timeout: duration } } },
    asDefault: { kind: 'boolean' },
    transport: {
      kind: 'object',
      shape: {
        fields: {
          respondingTimeouts: {
            kind: 'object',
            shape: {
              fields: {
                readTimeout: duration,
                writeTimeout: duration,
                idleTimeout: duration,
                clientHelloTimeout: duration,
              },
            },
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
    proxyProtocol: {
      kind: 'object',
      shape: {
        fields: { trustedIPs: { kind: 'stringList', check: cidrCheck }, insecure: { kind: 'boolean' } },
      },
    },
    http: {
      kind: 'object',
      shape: {
        fields: {
          redirections: {
            kind: 'object',
            shape: {
              fields: {
                entryPoint: {
                  kind: 'object',
                  shape: {
                    fields: {
                      to: { kind: 'string', fromNumber: true },
                      scheme: { kind: 'enum', values: ['https', 'http'] },
                      permanent: { kind: 'boolean' },
                      priority: { kind: 'integer', min: 1 },
                    },
                    required: ['to'],
                  },
                },
              },
            },
          },
          tls: tlsKind(routerTlsShape),
          maxHeaderBytes: { kind: 'integer', min: 1 },
          maxHeaderCount: { kind: 'integer', min: 1, max: 65_535 },
          middlewares: { kind: 'stringList' },
        },
        unsupported: ['encodeQuerySemicolons', 'sanitizePath'],
      },
    },
  },
  required: ['address'],
  unsupported: ['http3', 'observability', 'reusePort'],
};

const staticTlsShape: Shape = {
  fields: {
    defaultProfile: { kind: 'enum', values: ['strict', 'compatible'] },
    sessionTicketRotation: duration,
  },
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
  entryPointNames: ReadonlySet<string>,
): EntryPoint | undefined {
  const read = readShape(value, at, subject, entryPointShape, el);
  const address = read?.['address'];
  if (typeof address !== 'string') return undefined;
  const parsed = parseEntryPointAddress(address);
  if (parsed === null) {
    el.report(
      ConfigErrorCodes.INVALID_ADDRESS,
      at.child('address'),
      `${subject}: address ${JSON.stringify(address)} is not valid; expected ':port', 'host:port' or '[ipv6]:port' with a port from 0 to 65535, optionally followed by '/tcp' or '/udp'`,
    );
    return undefined;
  }
  const udpTimeout = (read as { udp?: { timeout?: string } } | undefined)?.udp?.timeout;
  if (parsed.protocol === 'udp' && udpTimeout !== undefined && parseDuration(udpTimeout) === 0) {
    el.report(
      ConfigErrorCodes.INVALID_TYPE,
      at.child('udp').child('timeout'),
      `${subject}: udp.timeout must be longer than 0 (Traefik refuses 0 too)`,
    );
  }
  const entryPoint = read as unknown as EntryPoint;
  const to = entryPoint.http?.redirections?.entryPoint?.to;
  if (to !== undefined) checkRedirectTarget(to, at, subject, el, entryPointNames);
  const pingTimeout = entryPoint.http2?.keepAlive?.timeout;
  if (pingTimeout !== undefined && parseDuration(pingTimeout) === 0) {
    el.report(
      ConfigErrorCodes.INVALID_TYPE,
      at.child('http2').child('keepAlive').child('timeout'),
      `${subject}: http2.keepAlive.timeout must be longer than 0; to turn PINGs off, set interval to 0`,
    );
  }
  return el.ok ? entryPoint : undefined;
}

/** Traefik takes an entry point's name (its port is used) or a bare `:port`. */
function checkRedirectTarget(
  to: string,
  at: Trail,
  subject: string,
  el: Element,
  entryPointNames: ReadonlySet<string>,
): void {
  const toAt = at.child('http').child('redirections').child('entryPoint').child('to');
  const label = `${subject}: http.redirections.entryPoint.to`;
  const target = to.trim();
  if (target.startsWith(':')) {
    const problem = portCheck(target.slice(1));
    if (problem !== null) el.report(problem.code, toAt, `${label} ${problem.message}`);
    return;
  }
  if (entryPointNames.has(target)) return;
  const known = [...entryPointNames].join(', ');
  el.report(
    ConfigErrorCodes.UNKNOWN_ENTRY_POINT,
    toAt,
    `${label} ${JSON.stringify(to)} is not an entry point${known === '' ? '' : ` (entry points: ${known})`}; give an entry point's name or ':port'`,
  );
}
