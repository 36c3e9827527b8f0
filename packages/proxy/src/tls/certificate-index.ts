// SNI certificate selection: exact name, then a one-label wildcard, then the default certificate. Pure.
import type { ResolvedCertificate } from '@berth/config';

/** Where a server name led: one of the index's certificates, and whether it was the default fallback. */
export interface CertificateChoice {
  /** Position in `CertificateIndex.certificates`. */
  index: number;
  /** True when no certificate names the server name and the default one was picked. */
  fallback: boolean;
}

/**
 * The certificates of the `default` store (the only store Traefik's routers use), indexed by
 * name. The default certificate is the last entry. When several certificates name the same
 * host, the first listed wins, so every node picks the same one.
 */
export class CertificateIndex {
  readonly certificates: readonly ResolvedCertificate[];
  readonly defaultIndex: number;
  readonly #byName = new Map<string, number>();

  constructor(certificates: readonly ResolvedCertificate[], defaultCertificate: ResolvedCertificate) {
    const usable = certificates.filter(inDefaultStore);
    this.certificates = [...usable, defaultCertificate];
    this.defaultIndex = usable.length;
    usable.forEach((cert, i) => {
      for (const name of cert.names) {
        const key = normaliseName(name);
        if (!this.#byName.has(key)) this.#byName.set(key, i);
      }
    });
  }

  /**
   * The certificate for `serverName` (lower-case SNI; `''` when the client sent none), or null when
   * `sniStrict` is set and no certificate names it (a missing SNI included).
   */
  select(serverName: string, sniStrict: boolean): CertificateChoice | null {
    const name = normaliseName(serverName);
    if (name !== '') {
      const exact = this.#byName.get(name);
      if (exact !== undefined) return { index: exact, fallback: false };
      const dot = name.indexOf('.');
      // `*.example.com` covers exactly one label: `a.example.com`, not `a.b.example.com` nor `example.com`.
      if (dot > 0) {
        const wildcard = this.#byName.get(`*${name.slice(dot)}`);
        if (wildcard !== undefined) return { index: wildcard, fallback: false };
      }
    }
    return sniStrict ? null : { index: this.defaultIndex, fallback: true };
  }
}

function inDefaultStore(cert: ResolvedCertificate): boolean {
  return cert.stores.length === 0 || cert.stores.includes('default');
}

/** Lower-case, without a trailing dot. */
export function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
