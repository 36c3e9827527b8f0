// The node's side of enrollment: its own key and certificate request, and the one HTTPS call that
// trades the join secret for a node certificate.
import { createPrivateKey, webcrypto } from 'node:crypto';
import { request } from 'node:https';
import { ProtocolError, ProtocolErrorCodes } from './errors.js';
import {
  type EnrollRequest,
  type EnrollResponse,
  NODE_ENROLL_PATH,
  nodeIdOfCertificate,
} from './node-certificate.js';
import { controllerServerName } from './token.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface NodeKeyAndCsr {
  /** PKCS#8 PEM of a new ECDSA P-256 key: stays on the node, written 0600. */
  keyPem: string;
  /** PKCS#10 request for it (PEM). */
  csrPem: string;
}

/**
 * A new node key and its certificate request. @peculiar/x509 is loaded here, on first use: a node
 * serving its cache at start-up never pays for it.
 */
export async function createNodeKeyAndCsr(name: string): Promise<NodeKeyAndCsr> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [`berth node ${name.replace(/[^\x20-\x7e]/g, '?').slice(0, 48)}`] }],
    keys,
    signingAlgorithm: ALG,
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
  return { keyPem, csrPem: csr.toString('pem') };
}

export interface EnrollOptions {
  /** `wss://host:port` from the join token. */
  url: string;
  /** The controller's CA (pinned by the token). */
  ca: string;
  secret: string;
  name: string;
  csrPem: string;
  timeoutMs?: number;
}

/** An enrollment the controller refused: its HTTP status and code (`BERTH_TOKEN_REJECTED`, ...). */
export class EnrollRefused extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** POSTs the request to the controller; resolves with the node id and certificate it issued. */
export function enrollNode(o: EnrollOptions): Promise<EnrollResponse> {
  const url = new URL(NODE_ENROLL_PATH, o.url.replace(/^wss:/, 'https:'));
  const body = JSON.stringify({ name: o.name, csr: o.csrPem } satisfies EnrollRequest);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: o.ca,
        servername: controllerServerName(url),
        timeout: o.timeoutMs ?? 10_000,
        headers: {
          authorization: `Bearer ${o.secret}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-berth-node-name': o.name,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 64 * 1024) res.destroy(new Error('enrollment answer too large'));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            // reported below
          }
          const status = res.statusCode ?? 0;
          if (status !== 201) {
            reject(
              new EnrollRefused(
                status,
                typeof parsed['code'] === 'string' ? parsed['code'] : `HTTP_${status}`,
                typeof parsed['message'] === 'string' ? parsed['message'] : `enrollment answered ${status}`,
              ),
            );
            return;
          }
          const nodeId = parsed['nodeId'];
          const certificate = parsed['certificate'];
          if (
            typeof nodeId !== 'string' ||
            typeof certificate !== 'string' ||
            nodeIdOfCertificate(certificate) !== nodeId
          ) {
            reject(
              new ProtocolError(
                ProtocolErrorCodes.BadFrame,
                'the controller answered the enrollment with no valid node certificate',
              ),
            );
            return;
          }
          resolve({ nodeId, certificate });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`enrollment at ${url.host} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}
