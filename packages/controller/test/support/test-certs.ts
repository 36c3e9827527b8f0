// Test certificates made in memory with @peculiar/x509: leaves with chosen names and dates, signed by a test CA or self-signed.
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;

export interface TestCert {
  certPem: string;
  keyPem: string;
}

export interface CertSpec {
  /** DNS SANs; none: no SAN extension. */
  dns?: string[];
  cn?: string;
  notBefore?: Date;
  notAfter?: Date;
  /** Signs with this CA instead of self-signing. */
  issuer?: TestCert;
  ca?: boolean;
}

async function keyPemOf(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
}

export async function makeCert(spec: CertSpec = {}): Promise<TestCert> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(spec.ca === true, undefined, true),
  ];
  if (spec.dns !== undefined && spec.dns.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(spec.dns.map((value) => ({ type: 'dns', value }))),
    );
  }
  const common = {
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    notBefore: spec.notBefore ?? new Date(Date.now() - DAY),
    notAfter: spec.notAfter ?? new Date(Date.now() + 90 * DAY),
    signingAlgorithm: ALG,
    extensions,
  };
  const name = `CN=${spec.cn ?? 'test'}`;
  let cert: x509.X509Certificate;
  if (spec.issuer === undefined) {
    cert = await x509.X509CertificateGenerator.createSelfSigned({ ...common, name, keys });
  } else {
    const issuerCert = new x509.X509Certificate(spec.issuer.certPem);
    const der = createPrivateKey(spec.issuer.keyPem).export({ type: 'pkcs8', format: 'der' });
    const signingKey = (await webcrypto.subtle.importKey('pkcs8', der, ALG, false, [
      'sign',
    ])) as webcrypto.CryptoKey;
    cert = await x509.X509CertificateGenerator.create({
      ...common,
      subject: name,
      issuer: issuerCert.subject,
      publicKey: keys.publicKey,
      signingKey,
    });
  }
  return { certPem: `${cert.toString('pem').trimEnd()}\n`, keyPem: await keyPemOf(keys.privateKey) };
}
