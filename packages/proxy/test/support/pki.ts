// A throwaway CA and a 127.0.0.1 server certificate it signs, made with the openssl CLI, for TLS tests.
import { execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { Server, ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface TestPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Writes its files into `dir`. */
export async function makePki(dir: string): Promise<TestPki> {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=berth-test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  run('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1');
  await writeFile(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  );
  const read = (name: string) => readFile(join(dir, name), 'utf8');
  return { caPem: await read('ca.pem'), certPem: await read('leaf.pem'), keyPem: await read('leaf.key') };
}

/**
 * A node identity issued by the CA `makePki` wrote into `dir` (openssl, as the controller would:
 * node URI, clientAuth), stored in `agentDir` as the agent keeps it: the agent connects without enrolling.
 */
export async function makeNodeIdentity(dir: string, agentDir: string, nodeId: string): Promise<void> {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'node.key',
    '-out',
    'node.csr',
    '-subj',
    '/CN=berth node test',
  );
  await writeFile(
    join(dir, 'node-ext.cnf'),
    `subjectAltName=URI:urn:berth:node:${nodeId}\nextendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n`,
  );
  run(
    'x509',
    '-req',
    '-in',
    'node.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'node.pem',
    '-days',
    '1',
    '-extfile',
    'node-ext.cnf',
  );
  const [keyPem, certPem] = await Promise.all([
    readFile(join(dir, 'node.key'), 'utf8'),
    readFile(join(dir, 'node.pem'), 'utf8'),
  ]);
  await writeFile(join(agentDir, 'node-identity.json'), JSON.stringify({ nodeId, keyPem, certPem }), {
    mode: 0o600,
  });
}

/** `https.createServer` options of a stand-in controller: its chain, and node certificates required (mutual TLS). */
export function controllerTlsOptions(pki: TestPki): ServerOptions {
  return {
    cert: pki.certPem + pki.caPem,
    key: pki.keyPem,
    requestCert: true,
    rejectUnauthorized: true,
    ca: pki.caPem,
  };
}

/** Listens on 127.0.0.1:0 and resolves with the port: where a stand-in controller waits for the agent. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Stops a stand-in controller: its node connections, the WebSocket server, the TLS server, its temp dir. */
export async function closeStandIn(
  server: Server,
  wss: { clients: Set<{ terminate(): void }>; close(): void },
  dir: string,
): Promise<void> {
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
}
