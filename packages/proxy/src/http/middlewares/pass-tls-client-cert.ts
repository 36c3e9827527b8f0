// passTLSClientCert: the client certificate (or chosen facts from it) in X-Forwarded-Tls-Client-Cert(-Info), encoded as Traefik does.
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import type { HttpMiddleware, TlsClientCertDnInfo } from '@berth/config';
import type { MiddlewareFactory } from '../context.js';

type Config = NonNullable<HttpMiddleware['passTLSClientCert']>;
type Info = NonNullable<Config['info']>;

/**
 * The certificates the client presented, leaf first. Node completes the chain from the trust
 * store, where Go's PeerCertificates hold only what was sent: a self-signed root after the leaf
 * (clients rarely send one) is taken to come from the store and left out.
 */
export function peerChain(socket: Partial<TLSSocket>): PeerCertificate[] {
  if (typeof socket.getPeerCertificate !== 'function') return [];
  const leaf = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  if (leaf === undefined || leaf === null || leaf.raw === undefined) return [];
  const chain: PeerCertificate[] = [leaf];
  let current: DetailedPeerCertificate = leaf;
  while (current.issuerCertificate !== undefined && current.issuerCertificate !== current) {
    const next = current.issuerCertificate;
    if (next.fingerprint256 === current.fingerprint256) break;
    if (next.issuerCertificate === next || next.issuerCertificate?.fingerprint256 === next.fingerprint256)
      break;
    chain.push(next);
    current = next;
    if (chain.length > 16) break;
  }
  return chain;
}

/** Go's url.QueryEscape: everything but letters, digits and `-_.~` is %XX, a space is `+`. */
export function goQueryEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The last value, as Go's pkix.Name keeps a single CommonName and SerialNumber. */
function last(v: string | string[] | undefined): string {
  const all = values(v);
  return all[all.length - 1] ?? '';
}

/** `DC=..,C=..,ST=..,L=..,O=..,OU=..,SN=..,CN=..` in Traefik's order, each part ending in a comma. */
function dn(
  name: Record<string, string | string[] | undefined> | undefined,
  opts: TlsClientCertDnInfo,
): string {
  if (name === undefined) return '';
  let out = '';
  const part = (prefix: string, value: string) => {
    if (value !== '') out += `${prefix}=${value},`;
  };
  if (opts.domainComponent) for (const v of values(name['DC'])) out += `DC=${v},`;
  if (opts.country) for (const v of values(name['C'])) part('C', v);
  if (opts.province) for (const v of values(name['ST'])) part('ST', v);
  if (opts.locality) for (const v of values(name['L'])) part('L', v);
  if (opts.organization) for (const v of values(name['O'])) part('O', v);
  if (opts.organizationalUnit) for (const v of values(name['OU'])) part('OU', v);
  if (opts.serialNumber) part('SN', last(name['serialNumber']));
  if (opts.commonName) part('CN', last(name['CN']));
  return out;
}

/** Go's order: DNS names, e-mail addresses, IP addresses (Go's text form), URIs. */
function sans(subjectaltname: string | undefined): string[] {
  const dns: string[] = [];
  const email: string[] = [];
  const ip: string[] = [];
  const uri: string[] = [];
  for (const entry of (subjectaltname ?? '').split(', ')) {
    const colon = entry.indexOf(':');
    if (colon < 0) continue;
    const kind = entry.slice(0, colon);
    const value = entry.slice(colon + 1).replace(/^"(.*)"$/, '$1');
    if (kind === 'DNS') dns.push(value);
    else if (kind === 'email') email.push(value);
    else if (kind === 'IP Address') ip.push(value.includes(':') ? compressIpv6(value) : value);
    else if (kind === 'URI') uri.push(value);
  }
  return [...dns, ...email, ...ip, ...uri];
}

function compressIpv6(value: string): string {
  try {
    return new URL(`http://[${value}]/`).hostname.slice(1, -1);
  } catch {
    return value.toLowerCase();
  }
}

const seconds = (date: string): number => Math.floor(Date.parse(date) / 1000);

/** One certificate's facts: `Subject="...";Issuer="...";SerialNumber="...";NB="...";NA="...";SAN="..."`. */
export function certInfo(cert: PeerCertificate, info: Info): string {
  const out: string[] = [];
  const subject = info.subject ? dn(cert.subject as never, info.subject) : '';
  if (subject !== '') out.push(`Subject="${subject.slice(0, -1)}"`);
  const issuer = info.issuer ? dn(cert.issuer as never, info.issuer) : '';
  if (issuer !== '') out.push(`Issuer="${issuer.slice(0, -1)}"`);
  if (info.serialNumber && cert.serialNumber) out.push(`SerialNumber="${BigInt(`0x${cert.serialNumber}`)}"`);
  if (info.notBefore) out.push(`NB="${seconds(cert.valid_from)}"`);
  if (info.notAfter) out.push(`NA="${seconds(cert.valid_to)}"`);
  if (info.sans) {
    const list = sans(cert.subjectaltname);
    if (list.length > 0) out.push(`SAN="${list.join(',')}"`);
  }
  return out.join(';');
}

export const passTLSClientCert: MiddlewareFactory<'passTLSClientCert'> = (config: Config) => {
  const pem = config.pem === true;
  const info = config.info;
  return (next) => (ctx) => {
    if (pem || info !== undefined) {
      const chain = peerChain(ctx.req.socket as Partial<TLSSocket>);
      // Without a client certificate Traefik leaves the headers as they are (untrusted ones were dropped).
      if (chain.length > 0) {
        if (pem)
          ctx.upstreamHeaders['x-forwarded-tls-client-cert'] = chain
            .map((c) => c.raw.toString('base64'))
            .join(',');
        if (info !== undefined)
          ctx.upstreamHeaders['x-forwarded-tls-client-cert-info'] = goQueryEscape(
            chain.map((c) => certInfo(c, info)).join(','),
          );
      }
    }
    return next(ctx);
  };
};
