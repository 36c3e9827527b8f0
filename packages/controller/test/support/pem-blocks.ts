// The certificates of a PEM chain (leaf first), as the ACME tests check what a CA issued.
import { X509Certificate } from 'node:crypto';

export function pemBlocks(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (b) => new X509Certificate(b),
  );
}
