// OCSP for stapling, as pure functions: build a request for a leaf and its issuer, read and check a response (RFC 6960).
import { createHash, createPublicKey, verify, X509Certificate } from 'node:crypto';
import {
  BasicOCSPResponse,
  CertID,
  id_pkix_ocsp_basic,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  TBSRequest,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate } from '@peculiar/asn1-x509';

const SHA1 = '1.3.14.3.2.26';
/** id-kp-OCSPSigning: the extended key usage a delegated responder certificate must carry. */
const OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';

/** Signature algorithms a responder may use → the digest node:crypto verifies with. */
const SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': '',
};

export interface OcspAnswer {
  status: 'good' | 'revoked' | 'unknown';
  thisUpdate: Date;
  nextUpdate?: Date;
}

function der(pem: string): Buffer {
  return Buffer.from(new X509Certificate(pem).raw);
}

function certId(leafPem: string, issuerPem: string): CertID {
  const leaf = AsnConvert.parse(der(leafPem), Certificate);
  const issuer = AsnConvert.parse(der(issuerPem), Certificate);
  const sha1 = (data: ArrayBuffer | Buffer) =>
    createHash('sha1')
      .update(Buffer.from(data as ArrayBuffer))
      .digest();
  const issuerName = AsnConvert.serialize(issuer.tbsCertificate.subject);
  const issuerKey = issuer.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey;
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: SHA1, parameters: null }),
    issuerNameHash: new OctetString(sha1(issuerName)),
    issuerKeyHash: new OctetString(sha1(issuerKey)),
    serialNumber: leaf.tbsCertificate.serialNumber,
  });
}

/** DER of an unsigned OCSP request for one certificate, without a nonce (responses can then be cached and stapled). */
export function buildOcspRequest(leafPem: string, issuerPem: string): Buffer {
  const request = new OCSPRequest({
    tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert: certId(leafPem, issuerPem) })] }),
  });
  return Buffer.from(AsnConvert.serialize(request));
}

/**
 * Reads a DER OCSP response for `leafPem`: it must be successful, a basic response, about this
 * certificate, and signed by the issuer or by a responder certificate the issuer signed. Throws an
 * Error saying what is wrong otherwise.
 */
export function readOcspResponse(
  response: Buffer,
  leafPem: string,
  issuerPem: string,
  now: Date,
): OcspAnswer {
  let outer: OCSPResponse;
  try {
    outer = AsnConvert.parse(response, OCSPResponse);
  } catch (err) {
    throw new Error(`the OCSP response does not parse: ${(err as Error).message}`);
  }
  if (outer.responseStatus !== OCSPResponseStatus.successful) {
    throw new Error(
      `the OCSP responder answered ${OCSPResponseStatus[outer.responseStatus] ?? outer.responseStatus}`,
    );
  }
  if (outer.responseBytes === undefined || outer.responseBytes.responseType !== id_pkix_ocsp_basic) {
    throw new Error('the OCSP response is not a basic OCSP response');
  }
  const basic = AsnConvert.parse(outer.responseBytes.response.buffer, BasicOCSPResponse);
  checkSignature(basic, issuerPem);

  const wanted = certId(leafPem, issuerPem);
  const same = (a: ArrayBuffer, b: ArrayBuffer) => Buffer.from(a).equals(Buffer.from(b));
  const single = basic.tbsResponseData.responses.find(
    (r) =>
      same(r.certID.serialNumber, wanted.serialNumber) &&
      same(r.certID.issuerKeyHash.buffer, wanted.issuerKeyHash.buffer),
  );
  if (single === undefined) throw new Error('the OCSP response is not about this certificate');
  if (single.nextUpdate !== undefined && single.nextUpdate.getTime() < now.getTime()) {
    throw new Error(`the OCSP response is stale (nextUpdate ${single.nextUpdate.toISOString()})`);
  }
  const status =
    single.certStatus.revoked !== undefined
      ? 'revoked'
      : single.certStatus.good !== undefined
        ? 'good'
        : 'unknown';
  return {
    status,
    thisUpdate: single.thisUpdate,
    ...(single.nextUpdate === undefined ? {} : { nextUpdate: single.nextUpdate }),
  };
}

function checkSignature(basic: BasicOCSPResponse, issuerPem: string): void {
  const hash = SIGNATURE_HASHES[basic.signatureAlgorithm.algorithm];
  if (hash === undefined) {
    throw new Error(
      `the OCSP response is signed with an unknown algorithm ${basic.signatureAlgorithm.algorithm}`,
    );
  }
  const issuer = new X509Certificate(issuerPem);
  // The issuer signs itself, or delegates to a responder certificate it issued (RFC 6960 4.2.2.2).
  const signers: X509Certificate[] = [issuer];
  for (const cert of basic.certs ?? []) {
    const delegate = new X509Certificate(Buffer.from(AsnConvert.serialize(cert)));
    const forOcsp = delegate.keyUsage?.includes(OCSP_SIGNING) ?? false;
    if (forOcsp && delegate.checkIssued(issuer) && delegate.verify(issuer.publicKey)) signers.push(delegate);
  }
  const data = Buffer.from(basic.tbsResponseDataRaw ?? AsnConvert.serialize(basic.tbsResponseData));
  const signature = Buffer.from(basic.signature);
  const ok = signers.some((signer) =>
    verify(
      hash === '' ? null : hash,
      data,
      createPublicKey(signer.publicKey.export({ format: 'pem', type: 'spki' })),
      signature,
    ),
  );
  if (!ok) throw new Error('the OCSP response signature does not verify against the issuer');
}
