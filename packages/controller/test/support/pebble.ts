// A real ACME CA for tests: Debian's `pebble` and `pebble-challtestsrv` (apt-get install pebble), each
// on free loopback ports, with their own CA for pebble's HTTPS, stopped by pid on close.
// Only node builtins and the openssl CLI, so the e2e workspace re-exports it (test/helpers/pebble.ts).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface PebbleOptions {
  /** Env for pebble on top of PEBBLE_VA_NOSLEEP=1 (e.g. `{ PEBBLE_WFE_NONCEREJECT: '50' }`). */
  env?: Record<string, string>;
  /** External account binding keys (kid → base64url HMAC key); when given, pebble requires EAB. */
  eabKeys?: Record<string, string>;
}

export interface Pebble {
  /** `https://127.0.0.1:PORT/dir`. */
  directoryUrl: string;
  /** PEM of the CA that signed pebble's own HTTPS certificate (what an ACME client must trust). */
  httpsCaPem: string;
  /** PEM of pebble's issuing root (from the management API's /roots/0): what issued certificates chain to. */
  rootPem: string;
  /** Port pebble's VA connects to for HTTP-01 (on the address DNS gives for the name). */
  httpPort: number;
  /** Port pebble's VA connects to for TLS-ALPN-01. */
  tlsPort: number;
  /** challtestsrv's DNS server (`127.0.0.1:PORT`), which pebble resolves names through. */
  dnsServer: string;
  /** challtestsrv's management API base URL (`http://127.0.0.1:PORT`). */
  challtestsrvUrl: string;
  /**
   * Stops pebble alone (challtestsrv's DNS stays): its ports refuse connections until `startCa`.
   * What a CA outage looks like to a client.
   */
  stopCa(): Promise<void>;
  /**
   * Starts pebble again on the same ports with the same HTTPS certificate. It is a new CA: a new
   * root (`rootPem` is updated) and no memory of accounts or orders.
   */
  startCa(): Promise<void>;
  /** Makes `host` resolve to 127.0.0.1 (and only that: no AAAA default answer is configured). */
  addA(host: string, address?: string): Promise<void>;
  /** Stops both processes (by pid) and removes the temp dir. */
  close(): Promise<void>;
}

/** Null when both binaries are on PATH; otherwise why not. */
export async function pebbleMissing(): Promise<string | null> {
  for (const bin of ['pebble', 'pebble-challtestsrv']) {
    try {
      await exec('sh', ['-c', `command -v ${bin}`]);
    } catch {
      return `${bin} is not installed (apt-get install pebble)`;
    }
  }
  return null;
}

/**
 * What a test gives node:test's `skip`: false when pebble is installed, the reason otherwise; throws
 * when the run demands every end-to-end test (BERTH_REQUIRE_E2E=1, as CI sets it), so a missing
 * pebble fails there instead of silently skipping.
 */
export async function pebbleSkip(): Promise<string | false> {
  const missing = await pebbleMissing();
  if (missing === null) return false;
  if (process.env['BERTH_REQUIRE_E2E'] === '1') throw new Error(`ACME end-to-end tests required: ${missing}`);
  return missing;
}

/** A loopback port free for TCP and UDP at the time of asking (DNS listens on both). */
export async function freePort(udpToo = false): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (!udpToo) return port;
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free loopback port for TCP and UDP');
}

/** A throwaway CA and a server certificate for localhost and 127.0.0.1, as files in `dir`. */
export async function makeHttpsCertificate(
  dir: string,
): Promise<{ caPem: string; certPath: string; keyPath: string }> {
  const ca = join(dir, 'https-ca');
  const leaf = join(dir, 'https');
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${ca}.key`,
    '-out',
    `${ca}.pem`,
    '-days',
    '2',
    '-subj',
    '/CN=berth test pebble HTTPS CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await exec('openssl', [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${leaf}.key`,
    '-out',
    `${leaf}.csr`,
    '-subj',
    '/CN=localhost',
  ]);
  await writeFile(
    `${leaf}.ext`,
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  await exec('openssl', [
    'x509',
    '-req',
    '-in',
    `${leaf}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${leaf}.pem`,
    '-days',
    '2',
    '-extfile',
    `${leaf}.ext`,
  ]);
  return { caPem: await readFile(`${ca}.pem`, 'utf8'), certPath: `${leaf}.pem`, keyPath: `${leaf}.key` };
}

interface Answer {
  status: number;
  body: string;
}

function get(url: string, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', ...(agent ? { agent } : {}), timeout: 2000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

function post(url: string, body: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv, log: string[]): ChildProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    log.push(chunk.toString('utf8'));
    // Only the tail matters when a start fails.
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, 'SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(timer);
}

/** Polls `probe` until it resolves true; fails naming `what` with the process's output tail. */
async function waitUntil(what: string, child: ChildProcess, log: string[], probe: () => Promise<boolean>) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `${what} exited (${child.exitCode ?? child.signalCode}) while starting:\n${log.join('')}`,
      );
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer within 20 s:\n${log.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts pebble-challtestsrv (DNS only) and pebble resolving through it. The ports are found free
 * and then handed over, so another process may take one in between: a start that fails on a port
 * in use is tried again with new ports.
 */
export async function startPebble(options: PebbleOptions = {}): Promise<Pebble> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPebbleOnce(options);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/i.test((err as Error).message)) throw err;
    }
  }
}

async function startPebbleOnce(options: PebbleOptions): Promise<Pebble> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-pebble-'));
  const started: ChildProcess[] = [];
  try {
    const https = await makeHttpsCertificate(dir);
    const dnsPort = await freePort(true);
    const challPort = await freePort();
    const acmePort = await freePort();
    const managementPort = await freePort();
    const httpPort = await freePort();
    const tlsPort = await freePort();
    const challLog: string[] = [];
    // Its own HTTP-01/TLS-ALPN responders are off: the code under test answers challenges.
    const chall = startProcess(
      'pebble-challtestsrv',
      [
        '-dns01',
        `127.0.0.1:${dnsPort}`,
        '-management',
        `127.0.0.1:${challPort}`,
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-defaultIPv4',
        '127.0.0.1',
        // No AAAA answers: pebble's VA must reach the loopback IPv4 responders.
        '-defaultIPv6',
        '',
      ],
      { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      challLog,
    );
    started.push(chall);
    const challtestsrvUrl = `http://127.0.0.1:${challPort}`;
    await waitUntil('pebble-challtestsrv', chall, challLog, async () => {
      await get(`${challtestsrvUrl}/`);
      return true;
    });

    const configPath = join(dir, 'pebble-config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: https.certPath,
          privateKey: https.keyPath,
          httpPort,
          tlsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: options.eabKeys !== undefined,
          ...(options.eabKeys ? { externalAccountMACKeys: options.eabKeys } : {}),
        },
      }),
    );
    const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
    // Started again by startCa(): same config, same ports, a new CA.
    const runCa = async (): Promise<{ child: ChildProcess; rootPem: string }> => {
      const pebbleLog: string[] = [];
      const child = startProcess(
        'pebble',
        ['-config', configPath, '-dnsserver', `127.0.0.1:${dnsPort}`],
        {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          PEBBLE_VA_NOSLEEP: '1',
          ...options.env,
        },
        pebbleLog,
      );
      started.push(child);
      const agent = new Agent({ ca: https.caPem, keepAlive: false });
      try {
        await waitUntil(
          'pebble',
          child,
          pebbleLog,
          async () => (await get(directoryUrl, agent)).status === 200,
        );
        let rootPem = '';
        await waitUntil('pebble management API', child, pebbleLog, async () => {
          const answer = await get(`https://127.0.0.1:${managementPort}/roots/0`, agent);
          rootPem = answer.body;
          return answer.status === 200 && rootPem.includes('BEGIN CERTIFICATE');
        });
        return { child, rootPem };
      } finally {
        agent.destroy();
      }
    };
    let ca = await runCa();

    const handle: Pebble = {
      directoryUrl,
      httpsCaPem: https.caPem,
      rootPem: ca.rootPem,
      async stopCa() {
        await stopProcess(ca.child);
      },
      async startCa() {
        if (ca.child.exitCode === null && ca.child.signalCode === null) return;
        ca = await runCa();
        handle.rootPem = ca.rootPem;
      },
      httpPort,
      tlsPort,
      dnsServer: `127.0.0.1:${dnsPort}`,
      challtestsrvUrl,
      async addA(host, address = '127.0.0.1') {
        const answer = await post(`${challtestsrvUrl}/add-a`, { host, addresses: [address] });
        if (answer.status !== 200)
          throw new Error(`challtestsrv /add-a ${host}: ${answer.status} ${answer.body}`);
      },
      async close() {
        await Promise.all(started.map(stopProcess));
        await rm(dir, { recursive: true, force: true });
      },
    };
    return handle;
  } catch (err) {
    await Promise.all(started.map(stopProcess));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
