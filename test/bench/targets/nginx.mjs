// nginx as a proxy: one worker, Host routing, an upstream keep-alive pool, no access log.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectOk, freePort } from '../lib/net.mjs';
import { startProcess, stopProcess } from '../lib/processes.mjs';
import { nginxConfig } from './nginx-backend.mjs';

export const name = 'nginx';
export const label = 'nginx';

export async function start(ctx, { backend, host }) {
  const dir = join(ctx.tmp, 'nginx-proxy');
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    nginxConfig(
      dir,
      `  upstream app {
    server ${backend.url.replace('http://', '')};
    keepalive 128;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:${port} default_server;
    return 404;
  }
  server {
    listen 127.0.0.1:${port};
    server_name ${host};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }
  }
`,
    ),
  );
  const child = startProcess(
    'nginx',
    ctx.tools.nginx,
    ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')],
    {
      cpu: ctx.opts.proxyCpu,
    },
  );
  try {
    await expectOk(port, host);
  } catch (err) {
    await stopProcess(child, 'SIGKILL');
    throw new Error(`${err.message}\n${child.output()}`);
  }
  // The master's pid: the worker is its child, and cpu-time.mjs counts the whole tree.
  return { name, label, port, pid: child.pid, stop: () => stopProcess(child, 'SIGQUIT') };
}
