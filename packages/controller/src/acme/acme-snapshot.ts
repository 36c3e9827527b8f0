// Between the compiler and the store: which certificates the compiled routers ask for, and the
// compiled result with the ordered certificates and the challenge answers added (origin `acme`).
// The compiler's own objects are never mutated (its incremental caches share them across compiles).
import type { ConfigError, ResolvedCertificate, Source } from '@berth/config';
import type { AcmeChallenges } from '@berth/protocol';
import type { CertificateStatus, CompileResult, OcspState } from '../compiler/compile-result.js';
import { usableCertificate } from '../compiler/resolve-tls.js';
import { checkCertificate } from '../tls/certificate-check.js';
import { AcmeErrorCodes } from './acme-errors.js';
import type { AcmeCertificateMaterial } from './acme-manager.js';
import {
  type CertificateRequestsResult,
  certificateRequests,
  type RouterForAcme,
} from './certificate-requests.js';
import type { AcmeResolverSettings } from './resolver-settings.js';

/** `http.routers.NAME` / `tcp.routers.NAME` → where it was defined. */
export function routerSources(result: CompileResult): Map<string, Source> {
  const out = new Map<string, Source>();
  for (const r of result.routers) if (r.source) out.set(`http.routers.${r.name}`, r.source);
  for (const r of result.tcpRouters) if (r.source) out.set(`tcp.routers.${r.name}`, r.source);
  return out;
}

/** The certificates the compiled (enabled) routers ask their resolvers for; problems are warnings. */
export function acmeRequests(
  result: CompileResult,
  resolvers: ReadonlyMap<string, AcmeResolverSettings>,
  sources: ReadonlyMap<string, Source>,
): CertificateRequestsResult {
  const withSource = (kind: 'http' | 'tcp', routers: Record<string, RouterForAcme> | undefined) => {
    const out: Record<string, RouterForAcme> = {};
    for (const [name, r] of Object.entries(routers ?? {})) {
      if (r.tls?.certResolver === undefined) continue;
      const source = sources.get(`${kind}.routers.${name}`);
      out[name] = source === undefined ? r : { ...r, source };
    }
    return out;
  };
  const found = certificateRequests(
    {
      http: withSource('http', result.body.http.routers),
      tcp: withSource('tcp', result.body.tcp?.routers),
    },
    resolvers,
  );
  // The router keeps serving (the default or a matching configured certificate): a warning.
  return { ...found, errors: found.errors.map((e) => ({ ...e, severity: 'warning' })) };
}

/**
 * An HTTP-01 resolver whose `httpChallenge.entryPoint` is no entry point: no node could answer, so
 * every order would fail at the CA. Said once, up front, instead.
 */
export function challengeEntryPointErrors(
  resolvers: ReadonlyMap<string, AcmeResolverSettings>,
  entryPoints: Readonly<Record<string, unknown>>,
): ConfigError[] {
  const out: ConfigError[] = [];
  for (const [name, r] of resolvers) {
    if (r.challenge.type !== 'http-01' || Object.hasOwn(entryPoints, r.challenge.entryPoint)) continue;
    out.push({
      code: AcmeErrorCodes.SETTING_INVALID,
      path: `certificatesResolvers.${name}.acme.httpChallenge.entryPoint`,
      message: `certificate resolver "${name}": httpChallenge.entryPoint "${r.challenge.entryPoint}" is not an entry point (${Object.keys(entryPoints).join(', ') || 'none'}); no node can answer its challenges`,
    });
  }
  return out;
}

export interface AcmeAdditions {
  certificates: readonly AcmeCertificateMaterial[];
  challenges: AcmeChallenges | undefined;
  /** Request and run-time problems, attached to the routers they name. */
  errors: readonly ConfigError[];
  now: Date;
  ocsp?: (fingerprint: string) => { response?: string; state: OcspState } | undefined;
}

/**
 * The result with ACME certificates in `tls.certificates` (store `default`, so SNI picks them
 * wherever their names are asked for), the challenge answers in `acme`, and the problems in the
 * error list and on the routers concerned. Unchanged (the same object) when there is nothing to add.
 */
export function withAcme(result: CompileResult, add: AcmeAdditions): CompileResult {
  if (add.certificates.length === 0 && add.challenges === undefined && add.errors.length === 0) return result;
  const certificates: ResolvedCertificate[] = [];
  const statuses: CertificateStatus[] = [];
  for (const c of add.certificates) {
    const checked = checkCertificate(c.certPem, c.keyPem, add.now);
    const source: Source = { provider: 'acme', origin: `certificatesResolvers.${c.resolver}` };
    if (!checked.ok) {
      statuses.push({
        names: c.domains,
        notAfter: '',
        fingerprint: '',
        origin: 'acme',
        stores: ['default'],
        isDefault: false,
        status: 'disabled',
        errors: [
          {
            code: checked.code,
            path: `certificatesResolvers.${c.resolver}`,
            message: `certificate resolver "${c.resolver}" (${c.domains.join(', ')}): the stored certificate ${checked.message}; it is left out`,
            source,
          },
        ],
        source,
      });
      continue;
    }
    const usable = usableCertificate(
      checked,
      ['default'],
      false,
      source,
      add.ocsp?.(checked.fingerprint),
      'acme',
    );
    certificates.push(usable.certificate);
    statuses.push(usable.status);
  }
  const tls = result.body.tls;
  const body = {
    ...result.body,
    ...(tls === undefined || certificates.length === 0
      ? {}
      : { tls: { ...tls, certificates: [...tls.certificates, ...certificates] } }),
    ...(add.challenges === undefined ? {} : { acme: add.challenges }),
  };
  // By the routers' own names, not by splitting the path at the first dot: a file router may be
  // `my.app`. The longest prefix of the path (cut at a dot) that names a router wins.
  const byRouter = new Map<string, ConfigError[]>();
  const routerPaths = new Set(
    add.errors.length === 0
      ? []
      : [
          ...result.routers.map((r) => `http.routers.${r.name}`),
          ...result.tcpRouters.map((r) => `tcp.routers.${r.name}`),
        ],
  );
  for (const e of add.errors) {
    let router: string | undefined;
    for (let i = e.path.indexOf('.'); ; i = e.path.indexOf('.', i + 1)) {
      const prefix = i === -1 ? e.path : e.path.slice(0, i);
      if (routerPaths.has(prefix)) router = prefix;
      if (i === -1) break;
    }
    if (router === undefined) continue;
    byRouter.set(router, [...(byRouter.get(router) ?? []), e]);
  }
  const attach = <T extends { name: string; errors: ConfigError[] }>(kind: string, list: T[]): T[] =>
    byRouter.size === 0
      ? list
      : list.map((r) => {
          const extra = byRouter.get(`${kind}.routers.${r.name}`);
          return extra === undefined ? r : { ...r, errors: [...r.errors, ...extra] };
        });
  return {
    ...result,
    body,
    errors: [...result.errors, ...add.errors],
    routers: attach('http', result.routers),
    tcpRouters: attach('tcp', result.tcpRouters),
    certificates: [...result.certificates, ...statuses],
  };
}
