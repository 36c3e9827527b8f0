// Resolves the merged `tls.*` into the snapshot's ResolvedTls: checked certificates, the default one, options, ticket keys.
import {
  CIPHER_PROFILES,
  type ConfigError,
  type ResolvedCertificate,
  type ResolvedTls,
  type Source,
  type StaticConfig,
  type TlsOptions,
} from '@berth/config';
import { type CheckedCertificate, checkCertificate } from '../tls/certificate-check.js';
import type { CertificateStatus, OcspState } from './compile-result.js';
import { ErrorCodes } from './error-codes.js';
import { compareStrings, type MergeResult } from './merge.js';
import { isAbout, splitQualified, unknownProvider } from './namespaces.js';

/** Option names every snapshot carries, whether or not the user defines them. */
export const BUILTIN_TLS_OPTIONS = ['compatible', 'default', 'strict'] as const;

/** What only the controller can supply (generated material, fetched OCSP responses); the compiler stays pure. */
export interface TlsMaterial {
  /** The certificate the controller generated for the `default` store, used unless one is configured. */
  generatedDefault: { certPem: string; keyPem: string };
  /** Base64 48-byte keys, the current one first. */
  sessionTicketKeys: string[];
  /** The latest stapling material known for a leaf, by its sha256 fingerprint. */
  ocsp?: (fingerprint: string) => { response?: string; state: OcspState } | undefined;
}

export interface TlsResolution {
  /** Undefined when no material was given (the caller only wants the report). */
  tls?: ResolvedTls;
  errors: ConfigError[];
  certificates: CertificateStatus[];
}

/** Why a router or entry point cannot use the TLS options `name` (end of a sentence); null when it can. */
export type TlsOptionsCheck = (name: string) => string | null;

/**
 * The options a (qualified) reference names: the user's, else Berth's built-in profile of that name
 * (`strict`, `compatible`), which no provider needs to define.
 */
export function tlsOptionsTarget(merged: MergeResult, name: string): string {
  if (merged.tls.options.merged.has(name)) return name;
  const bare = splitQualified(name).bare;
  return (BUILTIN_TLS_OPTIONS as readonly string[]).includes(bare) ? bare : name;
}

/**
 * Usable names are the agreed user entries plus the built-ins. An entry dropped by a conflict, or
 * by a file it needs (`clientAuth.caFiles`), is told apart from one that was never defined.
 */
export function tlsOptionsCheck(merged: MergeResult, partErrors: readonly ConfigError[]): TlsOptionsCheck {
  const usable = new Set<string>([...merged.tls.options.merged.keys(), ...BUILTIN_TLS_OPTIONS]);
  return (name) => {
    if (usable.has(tlsOptionsTarget(merged, name))) return null;
    if (merged.tls.options.conflicts.has(name)) return 'were dropped because their definitions conflict';
    const dropped = partErrors.find(
      (e) =>
        isAbout(e, 'tls.options', name) && e.path.length > `tls.options.${splitQualified(name).bare}`.length,
    );
    if (dropped !== undefined) return `were dropped (${dropped.code})`;
    // `is not defined: "foo" is no provider (...)` in the plural the options' messages use.
    return unknownProvider(name)?.replace(/^is /, 'are ') ?? 'are not defined';
  };
}

export function resolveTls(
  merged: MergeResult,
  statics: StaticConfig,
  now: Date,
  material: TlsMaterial | undefined,
  partErrors: readonly ConfigError[] = [],
): TlsResolution {
  const errors: ConfigError[] = [];
  // Certificates whose files could not be read never reached the merge: list them too, so the
  // certificate report shows every certificate the configuration names.
  const statuses: CertificateStatus[] = partErrors
    .filter((e) => e.code === ErrorCodes.TLS_CERT_READ && e.path.startsWith('tls.certificates.'))
    .map((e) => disabledStatus(e, [], false, e.source));
  const certificates: ResolvedCertificate[] = [];
  const withOcsp = (fingerprint: string) => material?.ocsp?.(fingerprint);

  for (const def of merged.tls.certificates) {
    const stores = def.value.stores ?? ['default'];
    const checked = checkCertificate(def.value.certFile, def.value.keyFile, now);
    const source = def.source ?? { provider: 'file', origin: def.sourceKey };
    if (!checked.ok) {
      const error: ConfigError = {
        code: checked.code,
        path: def.path,
        message: `certificate ${def.path} (${describeOrigin(def.source, def.sourceKey)}) ${checked.message}; it is left out`,
        source,
      };
      errors.push(error);
      statuses.push(disabledStatus(error, stores, false, source));
      continue;
    }
    const usable = usableCertificate(checked, stores, false, source, withOcsp(checked.fingerprint));
    certificates.push(usable.certificate);
    statuses.push(usable.status);
  }

  // The `default` store's default certificate: the configured one when usable, else the generated one.
  let defaultCertificate: ResolvedCertificate | undefined;
  const store = merged.tls.stores.merged.get('default');
  const configured = store?.value.defaultCertificate;
  if (store !== undefined && configured !== undefined) {
    const path = 'tls.stores.default.defaultCertificate';
    const source = store.source ?? { provider: 'file', origin: store.sourceKey };
    const checked = checkCertificate(configured.certFile, configured.keyFile, now);
    if (checked.ok) {
      const usable = usableCertificate(checked, ['default'], true, source, withOcsp(checked.fingerprint));
      defaultCertificate = usable.certificate;
      statuses.push(usable.status);
    } else {
      const error: ConfigError = {
        code: checked.code,
        path,
        message: `the default certificate (${describeOrigin(store.source, store.sourceKey)}) ${checked.message}; the generated default certificate is served instead`,
        source,
      };
      errors.push(error);
      statuses.push(disabledStatus(error, ['default'], true, source));
    }
  }
  if (defaultCertificate === undefined && material !== undefined) {
    const checked = checkCertificate(
      material.generatedDefault.certPem,
      material.generatedDefault.keyPem,
      now,
    );
    const notAfter = checked.ok ? checked.notAfter : '';
    const names = checked.ok ? checked.names : [];
    defaultCertificate = {
      certPem: material.generatedDefault.certPem,
      keyPem: material.generatedDefault.keyPem,
      names,
      notAfter,
      stores: ['default'],
      origin: 'default',
    };
    statuses.push({
      names,
      notAfter,
      fingerprint: checked.ok ? checked.fingerprint : '',
      origin: 'default',
      stores: ['default'],
      isDefault: true,
      status: 'enabled',
      errors: [],
    });
  }

  const options = resolveOptions(merged, statics);
  if (material === undefined || defaultCertificate === undefined) {
    return { errors, certificates: statuses };
  }
  return {
    tls: {
      certificates,
      defaultCertificate,
      options,
      sessionTicketKeys: [...material.sessionTicketKeys],
    },
    errors,
    certificates: statuses,
  };
}

/**
 * Every agreed user entry, plus `strict` and `compatible` from the cipher profiles and `default`
 * from the static `tls.defaultProfile`. A user entry of the same name wins: Traefik users often
 * already call their own options `strict`.
 */
function resolveOptions(merged: MergeResult, statics: StaticConfig): Record<string, TlsOptions> {
  const profile = statics.tls?.defaultProfile ?? 'strict';
  const out: Record<string, TlsOptions> = {
    strict: cloneOptions(CIPHER_PROFILES.strict),
    compatible: cloneOptions(CIPHER_PROFILES.compatible),
    default: cloneOptions(CIPHER_PROFILES[profile]),
  };
  for (const name of [...merged.tls.options.merged.keys()].sort(compareStrings)) {
    out[name] = merged.tls.options.merged.get(name)!.value;
  }
  return out;
}

function cloneOptions(options: Readonly<TlsOptions>): TlsOptions {
  return options.cipherSuites === undefined
    ? { ...options }
    : { ...options, cipherSuites: [...options.cipherSuites] };
}

/**
 * A checked certificate (from a file, or ordered by ACME with `origin` `acme`), as the snapshot
 * carries it and as the report shows it.
 */
export function usableCertificate(
  checked: CheckedCertificate,
  stores: string[],
  isDefault: boolean,
  source: Source | undefined,
  ocsp: { response?: string; state: OcspState } | undefined,
  origin = 'file',
): { certificate: ResolvedCertificate; status: CertificateStatus } {
  const { certPem, keyPem, names, notAfter, fingerprint, ocspUrl } = checked;
  return {
    certificate: {
      certPem,
      keyPem,
      names,
      notAfter,
      stores,
      origin,
      ...(source === undefined ? {} : { source }),
      ...(ocsp?.response === undefined ? {} : { ocspResponse: ocsp.response }),
    },
    status: {
      names,
      notAfter,
      fingerprint,
      origin,
      stores,
      isDefault,
      status: 'enabled',
      errors: [],
      ...(source === undefined ? {} : { source }),
      ...(ocspUrl === undefined ? {} : { ocspUrl }),
      ...(ocsp === undefined ? {} : { ocsp: ocsp.state }),
    },
  };
}

/** The report's line for a file certificate that could not be used. */
function disabledStatus(
  error: ConfigError,
  stores: string[],
  isDefault: boolean,
  source: Source | undefined,
): CertificateStatus {
  return {
    names: [],
    notAfter: '',
    fingerprint: '',
    origin: 'file',
    stores,
    isDefault,
    status: 'disabled',
    errors: [error],
    ...(source === undefined ? {} : { source }),
  };
}

function describeOrigin(source: { origin: string; line?: number } | undefined, fallback: string): string {
  if (source === undefined) return fallback;
  return source.line === undefined ? source.origin : `${source.origin}:${source.line}`;
}
