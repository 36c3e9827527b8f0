// lego's httpreq protocol (POST ENDPOINT/present and /cleanup with {fqdn, value}) in front of
// pebble-challtestsrv's management API (/set-txt, /clear-txt): the honest adapter that lets Berth's
// `httpreq` DNS provider publish TXT records in challtestsrv's DNS, which pebble's VA queries.
// Only node builtins, so the e2e workspace imports it too (@berth/controller/test-support/...).
import { createServer, type IncomingMessage, type Server } from 'node:http';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * lego's httpreq protocol in front of challtestsrv's management API: /present → /set-txt,
 * /cleanup → /clear-txt. `forward: false` accepts records and drops them (a provider that lies).
 */
export class HttpreqTranslator {
  readonly calls: { path: string; body: Record<string, string>; auth: string | undefined }[] = [];
  forward = true;
  failWith: { status: number; body: string } | null = null;
  readonly server: Server;

  constructor(challtestsrvUrl: string) {
    this.server = createServer(async (req, res) => {
      const body = JSON.parse(await readBody(req)) as Record<string, string>;
      this.calls.push({ path: req.url ?? '', body, auth: req.headers.authorization });
      if (this.failWith) {
        res.writeHead(this.failWith.status).end(this.failWith.body);
        return;
      }
      const action = req.url?.endsWith('/present')
        ? 'set-txt'
        : req.url?.endsWith('/cleanup')
          ? 'clear-txt'
          : null;
      if (action === null) {
        res.writeHead(404).end('no such path');
        return;
      }
      if (this.forward) {
        const answer = await fetch(`${challtestsrvUrl}/${action}`, {
          method: 'POST',
          body: JSON.stringify(
            action === 'set-txt' ? { host: body['fqdn'], value: body['value'] } : { host: body['fqdn'] },
          ),
        });
        if (!answer.ok) {
          res.writeHead(502).end(`challtestsrv: ${answer.status}`);
          return;
        }
      }
      res.writeHead(200).end('ok');
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
