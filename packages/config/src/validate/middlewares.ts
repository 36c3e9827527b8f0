// Validates http.middlewares: exactly one kind each, every field typed, regexes, CIDRs and htpasswd checked.
import { ConfigErrorCodes } from '../errors.js';
import type { HttpMiddleware } from '../model.js';
import { parseBreakerExpression } from '../values/circuit-breaker-expression.js';
import { parseHtpasswdLine } from '../values/htpasswd.js';
import { normaliseStatusSpec } from '../values/status-range.js';
import {
  cidrCheck,
  cookieNameCheck,
  headerNameCheck,
  headerValueCheck,
  portCheck,
  realmCheck,
  regexCheck,
  requestPathCheck,
  urlCheck,
} from './checks.js';
import { readFields } from './fields.js';
import type { Element, Problems, Trail } from './report.js';
import { type Kind, readKind, type Shape, type ValueProblem } from './shape.js';

const str: Kind = { kind: 'string' };
const anyStr: Kind = { kind: 'string', allowEmpty: true };
const bool: Kind = { kind: 'boolean' };
const count: Kind = { kind: 'integer', min: 0 };
const list: Kind = { kind: 'stringList' };
const regex: Kind = { kind: 'string', check: regexCheck };
const headerMap: Kind = { kind: 'stringMap', headers: true };

const requestPath: Kind = { kind: 'string', check: requestPathCheck };
const headerName: Kind = { kind: 'string', check: headerNameCheck };
const headerValue: Kind = { kind: 'string', check: headerValueCheck };
const headerNames: Kind = { kind: 'stringList', check: headerNameCheck };
const headerValues: Kind = { kind: 'stringList', check: headerValueCheck };

export const ipStrategyShape: Shape = {
  fields: {
    depth: count,
    excludedIPs: { kind: 'stringList', check: cidrCheck },
  },
  unsupported: ['ipv6Subnet'],
};

const sourceCriterion: Kind = {
  kind: 'object',
  shape: {
    fields: {
      ipStrategy: { kind: 'object', shape: ipStrategyShape },
      requestHeaderName: headerName,
      requestHost: bool,
    },
  },
};

const ENCODINGS = ['zstd', 'br', 'gzip'] as const;
const encodingCheck = (value: string): ValueProblem | null =>
  (ENCODINGS as readonly string[]).includes(value.trim().toLowerCase())
    ? null
    : {
        code: ConfigErrorCodes.INVALID_TYPE,
        message: `must be one of ${ENCODINGS.join(', ')}, got ${JSON.stringify(value)}`,
      };

/** `host:port`, `[v6]:port` or a bare host (port 6379), as Traefik's Redis client takes an address. */
const redisEndpointCheck = (value: string): ValueProblem | null =>
  /^(?:\[[0-9a-fA-F:.%\w]+\]|[^:/\s[\]]+)(?::\d{1,5})?$/.test(value.trim())
    ? null
    : { code: ConfigErrorCodes.INVALID_TYPE, message: `must be host:port, got ${JSON.stringify(value)}` };

/** Reads `users` line by line; a message names the user at most, never what follows the colon. */
const htpasswdUsers: Kind = {
  kind: 'custom',
  read: (field, label, problems) => {
    const { value, at } = field;
    const lines = typeof value === 'string' ? value.split(',') : value;
    if (!Array.isArray(lines)) {
      // describeValue would quote the string, and the string may be a password.
      problems.report(ConfigErrorCodes.INVALID_TYPE, at, `${label} must be a list of htpasswd lines`);
      return undefined;
    }
    const users: string[] = [];
    lines.forEach((line: unknown, index) => {
      const lineAt = at.child(String(index));
      if (typeof line !== 'string') {
        problems.report(ConfigErrorCodes.INVALID_TYPE, lineAt, `${label}[${index}] must be an htpasswd line`);
        return;
      }
      const parsed = parseHtpasswdLine(line.trim());
      if (parsed.ok) users.push(line.trim());
      else problems.report(ConfigErrorCodes.INVALID_HTPASSWD, lineAt, `${label}[${index}] ${parsed.problem}`);
    });
    return users.length === lines.length ? users : undefined;
  },
};

/** One status spec (`404`, `500-599`) as Traefik's HTTPCodeRanges reads it; commas split further. */
function statusSpecs(value: unknown): string[] | null {
  const items = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string' && typeof item !== 'number') return null;
    for (const part of String(item).split(',')) {
      if (part.trim() === '') continue;
      const spec = normaliseStatusSpec(part);
      if (spec === null) return null;
      out.push(spec);
    }
  }
  return out.length === 0 ? null : out;
}

/** `status` of errors: codes and ranges, a list or a comma-separated string (labels). */
const statusRanges: Kind = {
  kind: 'custom',
  read: (field, label, problems) => {
    const specs = statusSpecs(field.value);
    if (specs === null)
      problems.report(
        ConfigErrorCodes.INVALID_TYPE,
        field.at,
        `${label} must list status codes or ranges like "404" or "500-599", got ${JSON.stringify(field.value)}`,
      );
    return specs ?? undefined;
  },
};

/** `statusRewrites` of errors: range → the status to send instead. */
const statusRewrites: Kind = {
  kind: 'custom',
  read: (field, label, problems) => {
    const value = field.value;
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.report(ConfigErrorCodes.INVALID_TYPE, field.at, `${label} must map status ranges to a status`);
      return undefined;
    }
    const out: Record<string, number> = {};
    let ok = true;
    for (const [range, to] of Object.entries(value as Record<string, unknown>)) {
      const spec = statusSpecs(range);
      const code = typeof to === 'string' && /^\d+$/.test(to.trim()) ? Number(to) : to;
      if (
        spec === null ||
        spec.length !== 1 ||
        typeof code !== 'number' ||
        !Number.isInteger(code) ||
        code < 100 ||
        code > 599
      ) {
        ok = false;
        problems.report(
          ConfigErrorCodes.INVALID_TYPE,
          field.at.child(range),
          `${label}: "${range}" must be a status or range mapped to a status from 100 to 599`,
        );
        continue;
      }
      out[spec[0]!] = code;
    }
    return ok ? out : undefined;
  },
};

const breakerExpression: Kind = {
  kind: 'string',
  check: (value) => {
    const parsed = parseBreakerExpression(value);
    return parsed.ok
      ? null
      : {
          code: ConfigErrorCodes.CIRCUIT_BREAKER_EXPRESSION,
          message: `${JSON.stringify(value)}: ${parsed.message} at column ${parsed.column}`,
        };
  },
};
/** An htdigest line: `user:realm:hash`, the hash 32 hex digits (MD5 of `user:realm:password`). */
const digestUsers: Kind = {
  kind: 'custom',
  read: (field, label, problems) => {
    const { value, at } = field;
    const lines = typeof value === 'string' ? value.split(',') : value;
    if (!Array.isArray(lines)) {
      problems.report(ConfigErrorCodes.INVALID_TYPE, at, `${label} must be a list of user:realm:hash lines`);
      return undefined;
    }
    const users: string[] = [];
    lines.forEach((line: unknown, index) => {
      const lineAt = at.child(String(index));
      const parts = typeof line === 'string' ? line.trim().split(':') : [];
      if (parts.length === 3 && parts[0] !== '') {
        // Traefik takes any hash; one that is no MD5 hex digest lets nobody in: said, not refused.
        if (!/^[0-9a-fA-F]{32}$/.test(parts[2]!))
          problems.warn(
            ConfigErrorCodes.INVALID_HTPASSWD,
            lineAt,
            `${label}[${index}] (user ${JSON.stringify(parts[0])}): the hash is not 32 hex digits, so this user can never log in`,
          );
        users.push((line as string).trim());
        return;
      }
      const user = parts.length > 1 ? ` (user ${JSON.stringify(parts[0])})` : '';
      problems.report(
        ConfigErrorCodes.INVALID_HTPASSWD,
        lineAt,
        `${label}[${index}]${user} must be user:realm:hash`,
      );
    });
    return users.length === lines.length ? users : undefined;
  },
};

/** passTLSClientCert's subject and issuer fields; only the subject has organizationalUnit. */
function dnInfo(subject: boolean): Shape {
  return {
    fields: {
      country: bool,
      province: bool,
      locality: bool,
      organization: bool,
      ...(subject ? { organizationalUnit: bool } : {}),
      commonName: bool,
      serialNumber: bool,
      domainComponent: bool,
    },
  };
}

/** Every kind Berth implements, with the shape of its options. */
const KINDS: Readonly<Record<keyof HttpMiddleware, Shape>> = {
  redirectScheme: {
    fields: {
      scheme: { kind: 'enum', values: ['http', 'https'] },
      port: { kind: 'string', fromNumber: true, check: portCheck },
      permanent: bool,
    },
    required: ['scheme'],
  },
  redirectRegex: {
    fields: {
      regex,
      replacement: { kind: 'string', allowEmpty: true, check: headerValueCheck },
      permanent: bool,
    },
    required: ['regex', 'replacement'],
  },
  stripPrefix: {
    fields: { prefixes: { kind: 'stringList', nonEmpty: true }, forceSlash: bool },
    required: ['prefixes'],
  },
  stripPrefixRegex: {
    fields: { regex: { kind: 'stringList', nonEmpty: true, check: regexCheck } },
    required: ['regex'],
  },
  addPrefix: { fields: { prefix: requestPath }, required: ['prefix'] },
  replacePath: { fields: { path: requestPath }, required: ['path'] },
  replacePathRegex: { fields: { regex, replacement: anyStr }, required: ['regex', 'replacement'] },
  headers: {
    fields: {
      customRequestHeaders: headerMap,
      customResponseHeaders: headerMap,
      accessControlAllowCredentials: bool,
      accessControlAllowHeaders: headerNames,
      accessControlAllowMethods: headerValues,
      accessControlAllowOriginList: headerValues,
      accessControlAllowOriginListRegex: { kind: 'stringList', check: regexCheck },
      accessControlExposeHeaders: headerNames,
      accessControlMaxAge: { kind: 'integer' },
      addVaryHeader: bool,
      allowedHosts: list,
      hostsProxyHeaders: headerNames,
      sslProxyHeaders: headerMap,
      stsSeconds: count,
      stsIncludeSubdomains: bool,
      stsPreload: bool,
      forceSTSHeader: bool,
      frameDeny: bool,
      customFrameOptionsValue: headerValue,
      contentTypeNosniff: bool,
      browserXssFilter: bool,
      customBrowserXSSValue: headerValue,
      contentSecurityPolicy: headerValue,
      contentSecurityPolicyReportOnly: headerValue,
      publicKey: headerValue,
      referrerPolicy: headerValue,
      permissionsPolicy: headerValue,
      isDevelopment: bool,
    },
    // Deprecated in Traefik v3, which reads them and does nothing with them.
    ignored: ['sslRedirect', 'sslTemporaryRedirect', 'sslHost', 'sslForceHost', 'featurePolicy'],
  },
  basicAuth: {
    fields: {
      users: htpasswdUsers,
      usersFile: str,
      realm: { kind: 'string', check: realmCheck },
      removeHeader: bool,
      headerField: headerName,
    },
  },
  digestAuth: {
    fields: {
      users: digestUsers,
      usersFile: str,
      realm: { kind: 'string', check: realmCheck },
      removeHeader: bool,
      headerField: headerName,
    },
  },
  forwardAuth: {
    fields: {
      address: { kind: 'string', check: urlCheck },
      tls: {
        kind: 'object',
        shape: {
          fields: { ca: str, cert: str, key: str, insecureSkipVerify: bool },
          // Deprecated in Traefik v3 (client authentication is the server's choice).
          ignored: ['caOptional'],
        },
      },
      trustForwardHeader: bool,
      authResponseHeaders: headerNames,
      authResponseHeadersRegex: regex,
      authRequestHeaders: headerNames,
      addAuthCookiesToResponse: { kind: 'stringList', check: cookieNameCheck },
      headerField: headerName,
      forwardBody: bool,
      maxBodySize: { kind: 'integer', min: -1 },
      maxResponseBodySize: { kind: 'integer', min: -1 },
      preserveLocationHeader: bool,
      preserveRequestMethod: bool,
      authSigninURL: { kind: 'string', check: headerValueCheck },
    },
    required: ['address'],
  },
  passTLSClientCert: {
    fields: {
      pem: bool,
      info: {
        kind: 'object',
        shape: {
          fields: {
            notAfter: bool,
            notBefore: bool,
            sans: bool,
            serialNumber: bool,
            subject: { kind: 'object', shape: dnInfo(true) },
            issuer: { kind: 'object', shape: dnInfo(false) },
          },
        },
      },
    },
  },
  ipAllowList: {
    fields: {
      sourceRange: { kind: 'stringList', nonEmpty: true, check: cidrCheck },
      ipStrategy: { kind: 'object', shape: ipStrategyShape },
      rejectStatusCode: { kind: 'integer', min: 100, max: 599 },
    },
    required: ['sourceRange'],
  },
  rateLimit: {
    fields: {
      average: count,
      period: { kind: 'duration' },
      burst: count,
      sourceCriterion,
      redis: {
        kind: 'object',
        shape: {
          fields: {
            endpoints: { kind: 'stringList', check: redisEndpointCheck },
            tls: {
              kind: 'object',
              shape: { fields: { ca: str, cert: str, key: str, insecureSkipVerify: bool } },
            },
            username: anyStr,
            password: anyStr,
            db: count,
            poolSize: count,
            minIdleConns: count,
            maxActiveConns: count,
            readTimeout: { kind: 'duration' },
            writeTimeout: { kind: 'duration' },
            dialTimeout: { kind: 'duration' },
            // Berth: what a request gets when Redis cannot be asked.
            failOpen: bool,
          },
        },
      },
    },
  },
  inFlightReq: { fields: { amount: { kind: 'integer', min: 1 }, sourceCriterion }, required: ['amount'] },
  retry: {
    fields: { attempts: { kind: 'integer', min: 1 }, initialInterval: { kind: 'duration' } },
    required: ['attempts'],
  },
  compress: {
    fields: {
      excludedContentTypes: list,
      includedContentTypes: list,
      minResponseBodyBytes: count,
      encodings: { kind: 'stringList', check: encodingCheck },
      defaultEncoding: { kind: 'string', check: encodingCheck },
    },
  },
  buffering: {
    fields: {
      maxRequestBodyBytes: count,
      memRequestBodyBytes: count,
      maxResponseBodyBytes: count,
      memResponseBodyBytes: count,
    },
    unsupported: ['retryExpression'],
  },
  chain: { fields: { middlewares: { kind: 'stringList', nonEmpty: true } }, required: ['middlewares'] },
  errors: {
    fields: {
      status: statusRanges,
      statusRewrites,
      service: str,
      query: anyStr,
      errorRequestHeaders: headerNames,
    },
    required: ['status', 'service'],
  },
  circuitBreaker: {
    fields: {
      expression: breakerExpression,
      checkPeriod: { kind: 'duration' },
      fallbackDuration: { kind: 'duration' },
      recoveryDuration: { kind: 'duration' },
      responseCode: { kind: 'integer', min: 100, max: 599 },
    },
    required: ['expression'],
  },
  contentType: { fields: { autoDetect: bool } },
  grpcWeb: { fields: { allowOrigins: list } },
};

const KIND_NAMES = Object.keys(KINDS) as Array<keyof HttpMiddleware>;

/** Traefik middlewares Berth does not implement. */
const UNSUPPORTED_KINDS = ['plugin'];

/** Traefik v2's name, still common in labels. */
const ALIASES: Readonly<Record<string, keyof HttpMiddleware>> = { ipWhiteList: 'ipAllowList' };

export function readMiddleware(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): HttpMiddleware | undefined {
  const fields = readFields(
    value,
    at,
    { subject, supported: [...KIND_NAMES, ...Object.keys(ALIASES)], unsupported: UNSUPPORTED_KINDS },
    el,
  );
  // `compress:` with no value, or the label `...compress=true`, asks for a kind with all defaults.
  const present = Object.entries(fields).filter(
    ([, field]) => field !== undefined && field.value !== undefined,
  );
  if (present.length !== 1) {
    // An unsupported kind alone was reported already; "sets no kind" would only add noise.
    if (present.length === 0 && !el.ok) return undefined;
    const names = present.map(([name]) => name);
    el.report(
      ConfigErrorCodes.MIDDLEWARE_KIND,
      at,
      present.length === 0
        ? `${subject} must set exactly one kind: ${KIND_NAMES.join(', ')}`
        : `${subject} sets several kinds (${names.join(', ')}); a middleware has exactly one, use a chain to combine them`,
    );
    return undefined;
  }
  const [written, field] = present[0]!;
  const kind = ALIASES[written] ?? (written as keyof HttpMiddleware);
  if ((kind === 'basicAuth' || kind === 'digestAuth') && typeof field!.value === 'string') {
    // Most likely `user:password` written in the wrong place: say so without repeating it.
    el.report(ConfigErrorCodes.INVALID_TYPE, field!.at, `${subject} ${kind} must be a mapping with users`);
    return undefined;
  }
  const options = readOptions(field!, `${subject} ${kind}`, KINDS[kind], el);
  if (options === undefined) return undefined;
  if (
    kind === 'compress' &&
    options['excludedContentTypes'] !== undefined &&
    options['includedContentTypes'] !== undefined
  ) {
    el.report(
      ConfigErrorCodes.INVALID_TYPE,
      field!.at,
      `${subject} compress: set excludedContentTypes or includedContentTypes, not both`,
    );
  }
  if (
    (kind === 'basicAuth' || kind === 'digestAuth') &&
    el.ok &&
    options['users'] === undefined &&
    options['usersFile'] === undefined
  ) {
    el.report(ConfigErrorCodes.REQUIRED, field!.at, `${subject} ${kind}: users or usersFile is required`);
  }
  if (!el.ok) return undefined;
  return { [kind]: options } as HttpMiddleware;
}

function readOptions(
  field: NonNullable<ReturnType<typeof readFields>[string]>,
  label: string,
  shape: Shape,
  problems: Problems,
): Record<string, unknown> | undefined {
  const raw = field.value;
  const value: NonNullable<unknown> =
    raw === null ||
    raw === undefined ||
    raw === true ||
    (typeof raw === 'string' && raw.trim().toLowerCase() === 'true')
      ? {}
      : raw;
  const read = readKind({ value, at: field.at }, label, { kind: 'object', shape }, problems);
  return read as Record<string, unknown> | undefined;
}
