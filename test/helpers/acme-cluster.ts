// ACME end to end, the shared part: a real pebble (with challtestsrv's DNS), a controller child
// process as the only ACME client, and two proxy nodes on different loopback addresses whose `web`
// entry point is the port pebble validates HTTP-01 on, so each node answers the names DNS gives it.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Cluster, eventually } from './cluster.js';
import { type Backend, startBackend } from './http.js';
import { freePort, type Pebble, startPebble } from './pebble.js';

const exec = promisify(execFile);

/** What `/api/v1/certs` says of an ACME certificate. */
export interface CertView {
  names: string[];
  origin: string;
  status: string;
  fingerprint: string;
  errors: { code: string; message: string }[];
  acme?: {
    state: string;
    challenge: string;
    orders: number;
    failures: number;
    nextReason: string | null;
    nextAttemptAt: string | null;
    lastError: { code: string; message: string } | null;
  };
}

/** `curl` over HTTPS to `host` on `address:port`, verifying the chain against `caFile` only. */
export async function curlVerified(address: string, port: number, host: string, caFile: string) {
  const { stdout } = await exec(
    'curl',
    [
      '-sS',
      '--max-time',
      '10',
      '--cacert',
      caFile,
      '--resolve',
      `${host}:${port}:${address}`,
      '-w',
      '\n%{http_code} %{ssl_verify_result}',
      `https://${host}:${port}/`,
    ],
    { timeout: 15_000 },
  );
  const cut = stdout.lastIndexOf('\n');
  const [status, verify] = stdout.slice(cut + 1).split(' ');
  return { body: stdout.slice(0, cut), status: Number(status), verify: Number(verify) };
}

/** sha256 fingerprint (as X509Certificate prints it) of the leaf a node presents for `servername`. */
export function servedFingerprint(address: string, port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: address, port, servername, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert === undefined) reject(new Error('no peer certificate'));
      else resolve(cert.fingerprint256);
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
    socket.on('error', reject);
  });
}

export interface Setup {
  cluster: Cluster;
  backend: Backend;
  pebble: Pebble;
  rootFile: string;
  /** Each node's address and websecure port. */
  nodes: { name: string; address: string; securePort: number }[];
}

/**
 * pebble, a backend, a controller with resolver `le` (HTTP-01 on `web`) and nodes `a` on
 * 127.0.0.1 and `b` on 127.0.0.2, both with `web` on the port pebble validates HTTP-01 on.
 */
export interface SetUpOptions {
  /** More YAML lines under `certificatesResolvers.le.acme` (6 spaces of indent). */
  resolverExtra?: string;
  /** The controller's BERTH_ACME_TIMING (JSON). */
  acmeTiming?: object;
  /** Env for pebble (PEBBLE_WFE_NONCEREJECT...). */
  pebbleEnv?: Record<string, string>;
  /** More `berth controller` flags (`--docker ENDPOINT`). */
  controllerArgs?: string[];
  /** Without the file router `app` (Host app.example.test || www.example.test → the backend). */
  noFileRouter?: boolean;
  /** The resolver's challenge, YAML lines under `acme` (default: httpChallenge on `web`). */
  challenge?: (pebble: Pebble) => string[] | Promise<string[]>;
  /**
   * `websecure` of both nodes on the port pebble validates TLS-ALPN-01 on (each node on its own
   * address), instead of a free port each.
   */
  secureOnTlsPort?: boolean;
}

export async function setUp(options: SetUpOptions = {}): Promise<Setup> {
  const pebble = await startPebble({ env: options.pebbleEnv ?? {} });
  const cluster = await Cluster.create();
  const backend = await startBackend('acme-app');
  const httpsCa = join(cluster.dir, 'pebble-https-ca.pem');
  const rootFile = join(cluster.dir, 'pebble-root.pem');
  await writeFile(httpsCa, pebble.httpsCaPem);
  await writeFile(rootFile, pebble.rootPem);
  if (options.noFileRouter !== true)
    await cluster.writeDynamic(
      'app.yaml',
      [
        'http:',
        '  routers:',
        '    app:',
        '      rule: Host(`app.example.test`) || Host(`www.example.test`)',
        '      entryPoints: [websecure]',
        '      service: app',
        '      tls:',
        '        certResolver: le',
        '  services:',
        '    app:',
        '      loadBalancer:',
        `        servers: [{ url: "${backend.url}" }]`,
        '',
      ].join('\n'),
    );
  const staticYaml = [
    'entryPoints:',
    '  web:',
    `    address: "127.0.0.1:${pebble.httpPort}"`,
    '  websecure:',
    '    address: "127.0.0.1:0"',
    'providers:',
    '  file:',
    '    directory: ./dynamic',
    'certificatesResolvers:',
    '  le:',
    '    acme:',
    '      email: ops@example.test',
    `      caServer: ${pebble.directoryUrl}`,
    `      caCertificates: [${httpsCa}]`,
    ...((await options.challenge?.(pebble)) ?? ['      httpChallenge:', '        entryPoint: web']),
    options.resolverExtra ?? '',
    '',
  ].join('\n');
  const previous = process.env['BERTH_ACME_TIMING'];
  if (options.acmeTiming !== undefined) process.env['BERTH_ACME_TIMING'] = JSON.stringify(options.acmeTiming);
  try {
    await cluster.startController({ staticYaml, extraArgs: options.controllerArgs ?? [] });
  } finally {
    if (previous === undefined) delete process.env['BERTH_ACME_TIMING'];
    else process.env['BERTH_ACME_TIMING'] = previous;
  }
  const nodes: Setup['nodes'] = [];
  for (const [name, address] of [
    ['a', '127.0.0.1'],
    ['b', '127.0.0.2'],
  ] as const) {
    const securePort = options.secureOnTlsPort === true ? pebble.tlsPort : await freePort();
    await cluster.startNode(name, {
      extraArgs: [
        '--entrypoint',
        `web=${address}:${pebble.httpPort}`,
        '--entrypoint',
        `websecure=${address}:${securePort}`,
      ],
    });
    nodes.push({ name, address, securePort });
  }
  // Each name validated through a different node: whichever node the CA reaches must answer.
  await pebble.addA('app.example.test', '127.0.0.1');
  await pebble.addA('www.example.test', '127.0.0.2');
  return { cluster, backend, pebble, rootFile, nodes };
}

export async function tearDown(s: Setup | undefined): Promise<void> {
  await s?.cluster.close();
  await s?.backend.close();
  await s?.pebble.close();
}

export async function acmeCert(cluster: Cluster, ready: (c: CertView) => boolean, timeoutMs = 60_000) {
  return eventually(
    async () => {
      const certs = await cluster.api<CertView[]>('/api/v1/certs');
      return certs.find((c) => c.origin === 'acme' && ready(c)) ?? null;
    },
    timeoutMs,
    async () =>
      `certs: ${JSON.stringify(await cluster.api('/api/v1/certs').catch((e: Error) => e.message), null, 1)}\n${cluster.logs()}`,
  );
}
