// Reference points that are not Berth: small Node servers on the proxy CPU, to show Node's own floor.
import { fileURLToPath } from 'node:url';
import { expectOk, freePort } from '../lib/net.mjs';
import { startProcess, stopProcess } from '../lib/processes.mjs';

function baseline(name, label, script, needsBackend) {
  return {
    name,
    label,
    async start(ctx, { backend, host }) {
      const port = await freePort();
      const path = fileURLToPath(new URL(`./baselines/${script}`, import.meta.url));
      const child = startProcess(
        name,
        process.execPath,
        [path, String(port), ...(needsBackend ? [backend.url] : [])],
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
      return { name, label, port, pid: child.pid, stop: () => stopProcess(child, 'SIGTERM') };
    },
  };
}

export const nodeHttpOk = baseline(
  'node-http-ok',
  'node:http answering "ok" itself (no proxying)',
  'node-http-ok.mjs',
  false,
);
export const nodeUndiciDispatch = baseline(
  'node-undici-dispatch',
  'minimal Node proxy: node:http + undici Pool.dispatch',
  'node-undici-dispatch.mjs',
  true,
);
export const nodeTcpPipe = baseline(
  'node-tcp-pipe',
  'Node piping TCP bytes, no HTTP parsing (floor of any Node proxy)',
  'node-tcp-pipe.mjs',
  true,
);
