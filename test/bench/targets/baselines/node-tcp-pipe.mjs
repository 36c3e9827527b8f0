// Floor of any Node proxy: bytes piped between a client socket and its own upstream socket, no HTTP
// parsing at all (so no routing possible). Usage: node node-tcp-pipe.mjs <port> <backend origin>
import { connect, createServer } from 'node:net';

const port = Number(process.argv[2]);
const backend = new URL(process.argv[3]);
const server = createServer((client) => {
  const upstream = connect({ host: backend.hostname, port: Number(backend.port) });
  client.pipe(upstream).pipe(client);
  const done = () => {
    client.destroy();
    upstream.destroy();
  };
  client.once('error', done);
  upstream.once('error', done);
  client.once('close', done);
  upstream.once('close', done);
});
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
