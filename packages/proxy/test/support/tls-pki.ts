// Certificates for TLS termination tests, made with the openssl CLI: a CA, RSA and ECDSA leaves for given names, OCSP responses.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedCertificate } from '@berth/config';

export interface TestCa {
  dir: string;
  caPem: string;
  /** A leaf signed by the CA for DNS names and IP addresses; `kind` picks the key. */
  leaf(names: string[], kind?: 'ec' | 'rsa'): ResolvedCertificate;
  /** A client certificate signed by the CA (PEM cert and key). */
  client(cn: string): { certPem: string; keyPem: string };
  /** A DER OCSP response (base64) saying `certPem` is good, signed by the CA. */
  ocspGood(certPem: string): string;
  close(): void;
}

let serial = 0;

export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
  run(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=berth-tls-test-ca'],
    ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  );
  writeFileSync(join(dir, 'index.txt'), '');
  const sign = (base: string, kind: 'ec' | 'rsa', cn: string, ext: string): void => {
    const key =
      kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
    run('req', ...key, '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${base}.ext`), ext);
    run(
      ...['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-out', `${base}.pem`, '-days', '1', '-extfile', `${base}.ext`],
    );
  };
  return {
    dir,
    caPem: read('ca.pem'),
    leaf(names, kind = 'ec') {
      const base = `leaf${++serial}`;
      sign(
        base,
        kind,
        names[0]!,
        `subjectAltName=${names.map((n) => `${isIP(n) ? 'IP' : 'DNS'}:${n}`).join(',')}\n`,
      );
      return {
        certPem: read(`${base}.pem`),
        keyPem: read(`${base}.key`),
        names: names.map((n) => n.toLowerCase()),
        notAfter: new Date(Date.now() + 86_400_000).toISOString(),
        stores: ['default'],
        origin: 'file',
      };
    },
    client(cn) {
      const base = `client${++serial}`;
      sign(base, 'ec', cn, 'extendedKeyUsage=clientAuth\n');
      return { certPem: read(`${base}.pem`), keyPem: read(`${base}.key`) };
    },
    ocspGood(certPem) {
      const base = `ocsp${++serial}`;
      writeFileSync(join(dir, `${base}.pem`), certPem);
      // An index line marks the certificate valid (V), so the responder answers "good".
      const text = execFileSync('openssl', ['x509', '-in', `${base}.pem`, '-noout', '-serial', '-enddate'], {
        cwd: dir,
      }).toString();
      const serialHex = /serial=([0-9A-F]+)/i.exec(text)?.[1] ?? '';
      writeFileSync(join(dir, 'index.txt'), `V\t301231235959Z\t\t${serialHex}\tunknown\t/CN=x\n`);
      run(
        ...['ocsp', '-index', 'index.txt', '-rsigner', 'ca.pem', '-rkey', 'ca.key', '-CA', 'ca.pem'],
        ...['-issuer', 'ca.pem', '-cert', `${base}.pem`, '-respout', `${base}.der`, '-ndays', '1'],
      );
      return readFileSync(join(dir, `${base}.der`)).toString('base64');
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
