// The backend every proxy forwards to: nginx answering 200 "ok" from memory, on the load generator's CPU.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, probe } from '../lib/net.mjs';
import { startProcess, stopProcess, waitFor } from '../lib/processes.mjs';

function nginxTempPaths(dir) {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `  ${k}_temp_path ${join(dir, `${k}-temp`)};`)
    .join('\n');
}

/** A one-worker nginx config in `dir` (pid, logs, temp paths there; no access log) around `httpBody`. */
export function nginxConfig(dir, httpBody) {
  return `worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 8192; }
http {
  access_log off;
${nginxTempPaths(dir)}
  keepalive_requests 100000000;
  keepalive_timeout 300s;
${httpBody}}
`;
}

/** nginx with `return 200 "ok"`: a few µs per request, so it is never what limits a proxy. */
export async function startBackend(ctx) {
  const dir = join(ctx.tmp, 'backend');
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    nginxConfig(
      dir,
      `  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    default_type text/plain;
    location / { return 200 "ok"; }
  }
`,
    ),
  );
  const child = startProcess(
    'backend',
    ctx.tools.nginx,
    ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')],
    {
      cpu: ctx.opts.loadCpu,
    },
  );
  await waitFor(
    async () => (await probe(port, 'backend')).status === 200,
    10_000,
    () => child.output(),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    stop: () => stopProcess(child, 'SIGQUIT'),
  };
}
