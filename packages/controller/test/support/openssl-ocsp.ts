// A test CA, a leaf naming an OCSP responder, and that responder: `openssl ocsp` on a fixed loopback port.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `openssl ocsp` needs a fixed port: take a free one from the kernel and give it back. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface OcspPki {
  caPem: string;
  leafPem: string;
  leafKeyPem: string;
  /** Leaf then CA, as a certificate file for stapling must be. */
  chainPem: string;
}

/** CA and leaf (`ocsp.test`, AIA `OCSP;URI:http://127.0.0.1:<port>`) in `dir`, ECDSA P-256, via openssl. */
export async function createOcspPki(dir: string, port: number): Promise<OcspPki> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    join(dir, 'ca.key'),
    '-out',
    join(dir, 'ca.pem'),
    '-subj',
    '/CN=Berth Test OCSP CA',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    join(dir, 'leaf.key'),
    '-out',
    join(dir, 'leaf.csr'),
    '-subj',
    '/CN=ocsp.test',
  ]);
  await writeFile(
    join(dir, 'ext.cnf'),
    `subjectAltName=DNS:ocsp.test\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:${port}\n`,
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    join(dir, 'leaf.csr'),
    '-CA',
    join(dir, 'ca.pem'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-set_serial',
    '0x5EED1234',
    '-out',
    join(dir, 'leaf.pem'),
    '-days',
    '30',
    '-extfile',
    join(dir, 'ext.cnf'),
  ]);
  const leafPem = await readFile(join(dir, 'leaf.pem'), 'utf8');
  const caPem = await readFile(join(dir, 'ca.pem'), 'utf8');
  await writeIndex(dir, 'V', leafPem);
  return {
    caPem,
    leafPem,
    leafKeyPem: await readFile(join(dir, 'leaf.key'), 'utf8'),
    chainPem: leafPem + caPem,
  };
}

/** The responder's database: the leaf valid (`V`) or revoked (`R`). */
export async function writeIndex(dir: string, status: 'V' | 'R', leafPem: string): Promise<void> {
  const cert = new X509Certificate(leafPem);
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = (t: Date) =>
    `${two(t.getUTCFullYear() % 100)}${two(t.getUTCMonth() + 1)}${two(t.getUTCDate())}${two(t.getUTCHours())}${two(t.getUTCMinutes())}${two(t.getUTCSeconds())}Z`;
  const revoked = status === 'R' ? stamp(new Date(Date.now() - 60_000)) : '';
  const line = `${status}\t${stamp(new Date(cert.validTo))}\t${revoked}\t${cert.serialNumber.toUpperCase()}\tunknown\t/CN=ocsp.test\n`;
  await writeFile(join(dir, 'index.txt'), line);
}

/** `openssl ocsp` answering `requests` requests (signed by the CA, nextUpdate in 5 minutes), then exiting. */
export class OcspResponder {
  private child: ChildProcess | null = null;

  constructor(
    private readonly dir: string,
    private readonly port: number,
  ) {}

  async start(requests = 1): Promise<void> {
    const d = this.dir;
    const child = spawn(
      'openssl',
      [
        'ocsp',
        '-index',
        join(d, 'index.txt'),
        '-CA',
        join(d, 'ca.pem'),
        '-rsigner',
        join(d, 'ca.pem'),
        '-rkey',
        join(d, 'ca.key'),
        '-url',
        `http://127.0.0.1:${this.port}`,
        '-nrequest',
        String(requests),
        '-nmin',
        '5',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    // Probing the port would use up a request: wait for the responder to say it listens.
    await new Promise<void>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`openssl ocsp did not start: ${text}`)), 10_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (/waiting for OCSP client connections/.test(text)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`openssl ocsp exited: ${text}`));
      });
    });
  }

  /** Kills the responder this object started (by its pid), if it still runs. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  }
}
