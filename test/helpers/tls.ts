// Certificates for end-to-end tests, made by the openssl command line: a CA and leaves (RSA or ECDSA).
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KeyPair {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

export type KeyType = 'rsa' | 'ec';

function keyArgs(type: KeyType): string[] {
  return type === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
}

async function pair(certFile: string, keyFile: string): Promise<KeyPair> {
  return {
    certFile,
    keyFile,
    certPem: await readFile(certFile, 'utf8'),
    keyPem: await readFile(keyFile, 'utf8'),
  };
}

/** A self-signed CA in `dir/<name>.pem` and `dir/<name>.key`. */
export async function makeCa(dir: string, name = 'ca', type: KeyType = 'ec'): Promise<KeyPair> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    ...keyArgs(type),
    '-nodes',
    '-sha256',
    '-days',
    '30',
    '-subj',
    `/CN=Berth test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return pair(certFile, keyFile);
}

export interface LeafOptions {
  /** DNS names; the first is also the CN. */
  names: string[];
  type?: KeyType;
  /** Validity in days (default 30). */
  days?: number;
  /** Extra lines for the extension file, e.g. `authorityInfoAccess = OCSP;URI:http://127.0.0.1:1234`. */
  extensions?: string[];
}

/** A leaf signed by `ca`, in `dir/<file>.pem` and `dir/<file>.key`; the PEM holds the leaf only. */
export async function makeLeaf(dir: string, ca: KeyPair, file: string, opts: LeafOptions): Promise<KeyPair> {
  const certFile = join(dir, `${file}.pem`);
  const keyFile = join(dir, `${file}.key`);
  const csr = join(dir, `${file}.csr`);
  const ext = join(dir, `${file}.ext`);
  await run('openssl', [
    'req',
    '-new',
    ...keyArgs(opts.type ?? 'ec'),
    '-nodes',
    '-subj',
    `/CN=${opts.names[0] ?? 'leaf'}`,
    '-keyout',
    keyFile,
    '-out',
    csr,
  ]);
  await writeFile(
    ext,
    [
      `subjectAltName = ${opts.names.map((n) => `DNS:${n}`).join(',')}`,
      'basicConstraints = CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage = serverAuth,clientAuth',
      ...(opts.extensions ?? []),
    ].join('\n'),
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-CAcreateserial',
    '-sha256',
    '-days',
    String(opts.days ?? 30),
    '-extfile',
    ext,
    '-out',
    certFile,
  ]);
  return pair(certFile, keyFile);
}
