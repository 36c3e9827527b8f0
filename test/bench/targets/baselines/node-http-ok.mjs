// Floor of node:http: a server that answers "ok" itself, no proxying. Usage: node node-http-ok.mjs <port>
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const server = createServer({ keepAlive: true }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});
server.keepAliveTimeout = 300_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
