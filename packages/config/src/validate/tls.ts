// Validates the tls section: certificates, named TLS options (versions, ciphers, curves, client auth) and stores.
import { ConfigErrorCodes } from '../errors.js';
import type { TlsCertificate, TlsConfig, TlsOptions, TlsStore, TlsVersionName } from '../model.js';
import { IANA_TO_OPENSSL, TLS13_SUITES } from '../tls/cipher-profiles.js';
import { readFields } from './fields.js';
import { readNamed } from './named.js';
import type { Element, Reporter, Trail } from './report.js';
import { domainShape } from './router-tls.js';
import { type Kind, readKind, readShape, type Shape, type ValueProblem } from './shape.js';
import { closestNames } from './suggest.js';
import { describeValue, isPresent, isRecord } from './values.js';

const str: Kind = { kind: 'string' };
const bool: Kind = { kind: 'boolean' };

/** Paths or inline PEM. Messages never quote these values: an inline key is a secret. */
const certificatePairShape: Shape = {
  fields: { certFile: str, keyFile: str },
  required: ['certFile', 'keyFile'],
};

const certificateShape: Shape = {
  fields: { ...certificatePairShape.fields, stores: { kind: 'stringList' } },
  required: ['certFile', 'keyFile'],
};

export const TLS_VERSIONS: readonly TlsVersionName[] = [
  'VersionTLS10',
  'VersionTLS11',
  'VersionTLS12',
  'VersionTLS13',
];

/**
 * `TLS_FALLBACK_SCSV` is in Traefik's (Go's) list and appears in real configurations; it is a
 * signalling value, not a suite, so it is accepted and has no effect.
 */
const SIGNALLING_SUITES = ['TLS_FALLBACK_SCSV'];
/** In Go's list too, but OpenSSL 3 (and so Node) no longer offers RC4 at all. */
const RC4_SUITES = [
  'TLS_RSA_WITH_RC4_128_SHA',
  'TLS_ECDHE_ECDSA_WITH_RC4_128_SHA',
  'TLS_ECDHE_RSA_WITH_RC4_128_SHA',
];
const KNOWN_SUITES = [...Object.keys(IANA_TO_OPENSSL), ...TLS13_SUITES, ...SIGNALLING_SUITES];

export function cipherCheck(name: string): ValueProblem | null {
  if (KNOWN_SUITES.includes(name)) return null;
  const code = ConfigErrorCodes.TLS_UNKNOWN_CIPHER;
  if (RC4_SUITES.includes(name.toUpperCase())) {
    return {
      code,
      message: `${JSON.stringify(name)} is an RC4 suite, which is broken and not available in Node`,
    };
  }
  const close = closestNames(name, KNOWN_SUITES);
  const [best, ...others] = close;
  const hint =
    best === undefined
      ? '; use Go/IANA names like TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (not OpenSSL names like ECDHE-RSA-AES128-GCM-SHA256)'
      : `; did you mean ${best}?${others.length > 0 ? ` (other close names: ${others.join(', ')})` : ''}`;
  return { code, message: `${JSON.stringify(name)} is not a known cipher suite${hint}` };
}

/** Go's names are canonical; the SEC/RFC names people copy from OpenSSL are read as them. */
const CURVES: Readonly<Record<string, string>> = {
  curvep256: 'CurveP256',
  curvep384: 'CurveP384',
  curvep521: 'CurveP521',
  x25519: 'X25519',
  secp256r1: 'CurveP256',
  secp384r1: 'CurveP384',
  secp521r1: 'CurveP521',
  'p-256': 'CurveP256',
  'p-384': 'CurveP384',
  'p-521': 'CurveP521',
};

const curveList: Kind = {
  kind: 'custom',
  read: (field, label, problems) => {
    const check = (name: string): ValueProblem | null =>
      Object.hasOwn(CURVES, name.trim().toLowerCase())
        ? null
        : {
            code: ConfigErrorCodes.INVALID_TYPE,
            message: `${JSON.stringify(name)} is not a supported curve; use CurveP256, CurveP384, CurveP521 or X25519`,
          };
    const list = readKind(field, label, { kind: 'stringList', check }, problems) as string[] | undefined;
    return list?.map((name) => CURVES[name.trim().toLowerCase()]!);
  },
};

const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;

export const tlsVersion: Kind = { kind: 'enum', values: TLS_VERSIONS };

const optionsShape: Shape = {
  fields: {
    minVersion: tlsVersion,
    maxVersion: tlsVersion,
    cipherSuites: { kind: 'stringList', check: cipherCheck },
    curvePreferences: curveList,
    sniStrict: bool,
    alpnProtocols: { kind: 'stringList' },
    clientAuth: {
      kind: 'object',
      shape: {
        fields: {
          caFiles: { kind: 'stringList' },
          clientAuthType: { kind: 'enum', values: CLIENT_AUTH_TYPES },
        },
      },
    },
    disableSessionTickets: bool,
    preferServerCipherSuites: bool,
  },
};

const storeShape: Shape = {
  fields: {
    defaultCertificate: { kind: 'object', shape: certificatePairShape },
    defaultGeneratedCert: {
      kind: 'object',
      shape: {
        fields: { resolver: str, domain: { kind: 'object', shape: domainShape } },
        required: ['resolver'],
      },
    },
  },
};

export function readTls(value: unknown, at: Trail, reporter: Reporter): TlsConfig {
  const tls: TlsConfig = {};
  if (!isRecord(value)) {
    reporter.report(ConfigErrorCodes.INVALID_TYPE, at, `tls must be a mapping, got ${describeValue(value)}`);
    return tls;
  }
  const fields = readFields(
    value,
    at,
    { subject: 'the tls section', supported: ['certificates', 'options', 'stores'] },
    reporter,
  );
  if (isPresent(fields.certificates)) {
    const certificates = readCertificates(fields.certificates.value, fields.certificates.at, reporter);
    if (certificates !== undefined) tls.certificates = certificates;
  }
  if (isPresent(fields.options)) {
    const { value: v, at: a } = fields.options;
    tls.options = readNamed(v, a, 'tls options', reporter, readTlsOptions);
  }
  if (isPresent(fields.stores)) {
    const { value: v, at: a } = fields.stores;
    tls.stores = readNamed(v, a, 'tls store', reporter, (raw, where, subject, el) => {
      const read = readShape(raw, where, subject, storeShape, el);
      return read === undefined || !el.ok ? undefined : (read as TlsStore);
    });
  }
  return tls;
}

/** Each certificate stands alone: a broken one is dropped and the others are still served. */
function readCertificates(value: unknown, at: Trail, reporter: Reporter): TlsCertificate[] | undefined {
  if (!Array.isArray(value)) {
    reporter.report(
      ConfigErrorCodes.INVALID_TYPE,
      at,
      `tls.certificates must be a list of {certFile, keyFile}, got ${describeValue(value)}`,
    );
    return undefined;
  }
  const kept: TlsCertificate[] = [];
  value.forEach((item: unknown, index) => {
    const el = reporter.element();
    const read = readShape(item, at.child(String(index)), `tls certificate ${index}`, certificateShape, el);
    if (read !== undefined && el.ok) kept.push(read as unknown as TlsCertificate);
  });
  return kept;
}

function readTlsOptions(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): TlsOptions | undefined {
  const read = readShape(value, at, subject, optionsShape, el) as TlsOptions | undefined;
  if (read === undefined) return undefined;
  const { minVersion, maxVersion, clientAuth } = read;
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
  const type = clientAuth?.clientAuthType;
  if (type?.includes('Verify')) {
    if ((clientAuth?.caFiles ?? []).length === 0) {
      el.report(
        ConfigErrorCodes.REQUIRED,
        at.child('clientAuth').child('caFiles'),
        `${subject}: clientAuth.caFiles is required with clientAuthType ${type}: it lists the CAs client certificates are verified against`,
      );
    }
  }
  return el.ok ? read : undefined;
}
