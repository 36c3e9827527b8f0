// HAProxy as the reference: one thread, Host routing, connection reuse to the backend, no logs.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectOk, freePort } from '../lib/net.mjs';
import { startProcess, stopProcess } from '../lib/processes.mjs';

export const name = 'haproxy';
export const label = 'HAProxy';

export async function start(ctx, { backend, host }) {
  const dir = join(ctx.tmp, 'haproxy');
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'haproxy.cfg');
  const [bhost, bport] = backend.url.replace('http://', '').split(':');
  await writeFile(
    conf,
    `global
  nbthread 1
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 300s
  option http-keep-alive
  http-reuse always

frontend web
  bind 127.0.0.1:${port}
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  acl is_app req.hdr(host),field(1,:) -i ${host}
  http-request deny deny_status 404 unless is_app
  use_backend app if is_app

backend app
  server s1 ${bhost}:${bport}
`,
  );
  // -db: foreground, a single process (no master), so the pid is the one doing the work.
  const child = startProcess('haproxy', ctx.tools.haproxy, ['-db', '-f', conf], { cpu: ctx.opts.proxyCpu });
  try {
    await expectOk(port, host);
  } catch (err) {
    await stopProcess(child, 'SIGKILL');
    throw new Error(`${err.message}\n${child.output()}`);
  }
  return { name, label, port, pid: child.pid, stop: () => stopProcess(child, 'SIGTERM') };
}
