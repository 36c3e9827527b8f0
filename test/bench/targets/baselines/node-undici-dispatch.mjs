// A minimal proxy the way the profile suggests: node:http in, undici Pool.dispatch out, no streams or
// AbortController per request. Not Berth: no routing or middlewares; it measures what the transport
// could cost. Usage: node node-undici-dispatch.mjs <port> <backend origin>
import { createServer } from 'node:http';
import { Pool } from 'undici';

const port = Number(process.argv[2]);
const pool = new Pool(process.argv[3], { headersTimeout: 0, bodyTimeout: 0, pipelining: 1 });
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

function upstreamHeaders(req) {
  const raw = req.rawHeaders;
  const out = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  }
  out.push('x-forwarded-for', req.socket.remoteAddress ?? '', 'x-forwarded-proto', 'http');
  return out;
}

const server = createServer({ keepAlive: true }, (req, res) => {
  let ctl = null;
  pool.dispatch(
    { path: req.url, method: req.method, headers: upstreamHeaders(req), body: null },
    {
      onRequestStart(controller) {
        ctl = controller;
      },
      onResponseStart(_c, statusCode, headers) {
        const h = {};
        for (const k in headers) if (!HOP.has(k)) h[k] = headers[k];
        res.writeHead(statusCode, h);
      },
      onResponseData(c, chunk) {
        // Backpressure: pause undici until the client drains.
        if (!res.write(chunk)) {
          c.pause();
          res.once('drain', () => c.resume());
        }
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError(_c, err) {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end('Bad Gateway');
        } else res.destroy(err);
      },
    },
  );
  res.once('close', () => {
    if (!res.writableFinished) ctl?.abort(new Error('client went away'));
  });
});
server.keepAliveTimeout = 300_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
