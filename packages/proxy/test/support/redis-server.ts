// A real redis-server for tests: started on a free loopback port with no persistence, stopped by its pid.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';

const BINARY = process.env['BERTH_REDIS_SERVER'] ?? '/usr/bin/redis-server';

/**
 * Why the Redis tests cannot run here, or null when they can. Missing redis-server skips them,
 * unless the run demands every end-to-end test (BERTH_REQUIRE_E2E=1, as CI sets it).
 */
export function redisSkipReason(): string | null {
  if (existsSync(BINARY)) return null;
  const reason = `${BINARY} not installed (apt-get install redis-server)`;
  if (process.env['BERTH_REQUIRE_E2E'] === '1') throw new Error(`Redis tests required: ${reason}`);
  return reason;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function answersPing(
  port: number,
  password: string | undefined,
  tls: RedisTlsFiles | undefined,
): Promise<boolean> {
  return new Promise((resolve) => {
    const s: Socket = tls
      ? tlsConnect({
          host: '127.0.0.1',
          port,
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          rejectUnauthorized: false,
        })
      : connect({ host: '127.0.0.1', port });
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
    s.once(tls ? 'secureConnect' : 'connect', () =>
      s.write(`${password ? `AUTH ${password}\r\n` : ''}PING\r\n`),
    );
    let text = '';
    s.on('data', (c: Buffer) => {
      text += c.toString();
      if (text.includes('+PONG')) {
        s.destroy();
        resolve(true);
      }
    });
  });
}

/** PEM texts: the server's certificate and key, and the CA its clients' certificates must chain to. */
export interface RedisTlsFiles {
  cert: string;
  key: string;
  ca: string;
}

export class RedisServer {
  readonly port: number;
  readonly #args: string[];
  readonly #dir: string;
  readonly #password: string | undefined;
  readonly #tls: RedisTlsFiles | undefined;
  #child: ChildProcess | null = null;

  private constructor(port: number, opts: { requirepass?: string; tls?: RedisTlsFiles }) {
    this.port = port;
    this.#password = opts.requirepass;
    this.#tls = opts.tls;
    this.#dir = mkdtempSync(join(tmpdir(), 'berth-redis-'));
    const args = opts.requirepass ? ['--requirepass', opts.requirepass] : [];
    if (opts.tls) {
      for (const name of ['cert', 'key', 'ca'] as const)
        writeFileSync(join(this.#dir, `${name}.pem`), opts.tls[name]);
      // TLS only, and a client certificate required.
      args.push('--port', '0', '--tls-port', String(port));
      args.push('--tls-cert-file', join(this.#dir, 'cert.pem'), '--tls-key-file', join(this.#dir, 'key.pem'));
      args.push('--tls-ca-cert-file', join(this.#dir, 'ca.pem'), '--tls-auth-clients', 'yes');
    } else args.push('--port', String(port));
    this.#args = args;
  }

  /** `requirepass`: the server asks for this password (AUTH). `tls`: it speaks TLS only, with client certificates. */
  static async start(opts: { requirepass?: string; tls?: RedisTlsFiles } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), opts);
    await server.resume();
    return server;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, on the same port) and waits until it answers. */
  async resume(): Promise<void> {
    if (this.#child) return;
    const child = spawn(
      BINARY,
      ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir, ...this.#args],
      { stdio: 'ignore' },
    );
    this.#child = child;
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (await answersPing(this.port, this.#password, this.#tls)) return;
      await sleep(25);
    }
    throw new Error('redis-server did not answer within 5 s');
  }

  /** Stops the server by its pid (SIGKILL: a crash, not a goodbye) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
