// @peculiar/x509, loaded on first use: only creating a certificate needs it, and a restart reads them back with node:crypto.
import { webcrypto } from 'node:crypto';

export type X509 = typeof import('@peculiar/x509');

let loading: Promise<X509> | null = null;

/**
 * The x509 module set up with Node's WebCrypto. Loading it (with reflect-metadata and its ASN.1
 * stack) is a few hundred milliseconds on a busy host: a controller whose CA, certificates and
 * default certificate are already on disk is ready without it.
 */
export function loadX509(): Promise<X509> {
  loading ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })();
  return loading;
}
