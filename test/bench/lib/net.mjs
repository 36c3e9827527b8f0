// Loopback helpers: a free port, and probe requests with a chosen Host header.
import { request } from 'node:http';
import { connect, createServer } from 'node:net';

/** A port free right now on 127.0.0.1 (HAProxy and nginx need the number in their config). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** GET http://127.0.0.1:port/ with `Host: host`; resolves { status, body }, rejects on error or timeout. */
export function probe(port, host, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        method: 'GET',
        headers: { host },
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          if (body.length < 4096) body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`probe of 127.0.0.1:${port} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Waits until the proxy answers 200 "ok" for `host`, so a round never measures a warming-up proxy. */
export async function expectOk(port, host, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const r = await probe(port, host);
      if (r.status === 200 && r.body === 'ok') return;
      last = `${r.status} ${r.body.slice(0, 200)}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`127.0.0.1:${port} (Host ${host}) did not answer 200 "ok" within ${timeoutMs} ms: ${last}`);
}

/**
 * One keep-alive `GET / HTTP/1.1` with `Host: app.test` to 127.0.0.1:port on a new connection,
 * read only to the status line: true when it answers 200 (false on error, close or 2 s of silence).
 */
export function answers200(port, userAgent) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let head = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () =>
      socket.write(`GET / HTTP/1.1\r\nHost: app.test\r\nUser-Agent: ${userAgent}\r\n\r\n`),
    );
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n')) done(head.startsWith('HTTP/1.1 200'));
    });
    socket.once('end', () => done(false));
  });
}
