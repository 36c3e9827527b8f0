// Real HTTP backends on loopback that count what they receive, and a client that can set any Host header.
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';

export interface Backend {
  name: string;
  port: number;
  url: string;
  hits: number;
  lastHeaders: IncomingHttpHeaders | null;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1:0 answering `backend=<name>` (and the path) to every request. */
export async function startBackend(name: string): Promise<Backend> {
  const backend: Backend = {
    name,
    port: 0,
    url: '',
    hits: 0,
    lastHeaders: null,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    backend.hits++;
    backend.lastHeaders = req.headers;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name });
      res.end(`backend=${name} path=${req.url}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  backend.url = `http://127.0.0.1:${backend.port}`;
  backend.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return backend;
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** GET http://127.0.0.1:<port><path> with the given Host header, on a fresh connection. */
export function get(port: number, host: string, path = '/', timeoutMs = 5000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', headers: { host }, agent: false, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to :${port}${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Which backend answered (from the `x-backend` header), or the status when none did. */
export async function whoAnswers(port: number, host: string, path = '/'): Promise<string> {
  const res = await get(port, host, path);
  return typeof res.headers['x-backend'] === 'string' ? res.headers['x-backend'] : `status ${res.status}`;
}

/** A loopback port free right now (for flags that need a fixed port up front, like --metrics). */
export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A port `p` such that `p .. p+count-1` were all free a moment ago (for `berth up --port p`).
 * Taken below Linux's ephemeral range (32768+): there, any outgoing connection on the machine
 * (other tests' clients) may take the port as its source port before the node binds it.
 */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (12_000 - count));
    const held: ReturnType<typeof createNetServer>[] = [];
    let ok = true;
    for (let p = base; p < base + count && ok; p++) {
      const s = createNetServer();
      ok = await new Promise<boolean>((r) => {
        s.once('error', () => r(false));
        s.listen(p, '127.0.0.1', () => r(true));
      });
      if (ok) held.push(s);
    }
    await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (ok) return base;
  }
  throw new Error(`no run of ${count} free ports found`);
}
