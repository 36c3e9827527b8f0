// `berth up`: a controller, N proxy nodes and two demo backends on loopback, with an embedded default config.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { CliError } from '../output.js';
import { berthBin, type Child, ChildGroup, waitForJsonFile } from '../process/child-group.js';
import { type Command, str, untilSignal } from './command.js';

function demoDynamicConfig(backends: number[]): string {
  return `# Dynamic configuration, watched: edit and save, every node picks it up.
http:
  routers:
    demo:
      rule: Host(\`demo.localhost\`)
      service: demo
    demo-tls:
      rule: Host(\`demo.localhost\`)
      service: demo
      tls: {} # HTTPS (HTTP/2 too) with the controller's default certificate until you add yours
    catch-all:
      rule: PathPrefix(\`/\`)
      priority: 1
      service: demo
  services:
    demo:
      loadBalancer:
        servers:
${backends.map((p) => `          - url: http://127.0.0.1:${p}`).join('\n')}
`;
}

async function firstJsonLine(
  child: Child,
  key: string,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of child.output().split('\n')) {
      try {
        const v = JSON.parse(line) as Record<string, unknown>;
        if (key in v) return v;
      } catch {
        // not JSON
      }
    }
    if (child.proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new CliError('BERTH_CLI_START', `${child.name} did not start:\n${child.output()}`);
}

export const upCommand: Command = {
  name: 'up',
  summary: 'start a controller, proxy nodes and two demo backends on this host',
  options: {
    nodes: { type: 'string', arg: 'n', help: 'number of proxy nodes', default: '2' },
    port: {
      type: 'string',
      arg: 'port',
      help: 'first node listens here, the next on port+1...',
      default: '8080',
    },
    'tls-port': {
      type: 'string',
      arg: 'port',
      help: 'first node serves HTTPS here, the next on tls-port+1...',
      default: '8443',
    },
    api: { type: 'string', arg: 'host:port', help: 'controller API address', default: '127.0.0.1:7380' },
    dir: { type: 'string', arg: 'dir', help: 'where configuration, data and logs go', default: '.berth' },
  },
  examples: ['berth up', 'berth up --nodes 3 --port 9080 --tls-port 9443'],
  async run(v) {
    const count = Number(str(v, 'nodes') ?? 2);
    const basePort = Number(str(v, 'port') ?? 8080);
    if (!Number.isInteger(count) || count < 1 || count > 16)
      throw new CliError('BERTH_CLI_BAD_FLAG', '--nodes must be 1..16');
    if (!Number.isInteger(basePort) || basePort < 1 || basePort + count > 65535) {
      throw new CliError('BERTH_CLI_BAD_FLAG', '--port must be a port number');
    }
    const tlsPort = Number(str(v, 'tls-port') ?? 8443);
    if (!Number.isInteger(tlsPort) || tlsPort < 1 || tlsPort + count > 65535) {
      throw new CliError('BERTH_CLI_BAD_FLAG', '--tls-port must be a port number');
    }
    const api = str(v, 'api') ?? '127.0.0.1:7380';
    const dir = resolve(str(v, 'dir') ?? '.berth');
    const logs = join(dir, 'logs');
    const dynamicDir = join(dir, 'up', 'dynamic');
    await mkdir(logs, { recursive: true });
    await mkdir(dynamicDir, { recursive: true });

    const group = new ChildGroup();
    const stopAll = async () => {
      await group.stopAll('SIGTERM', 5000);
    };
    try {
      const backends: number[] = [];
      for (const name of ['demo-a', 'demo-b']) {
        const child = group.berth(name, ['demo-backend', '--name', name], {
          logFile: join(logs, `${name}.log`),
        });
        backends.push(Number((await firstJsonLine(child, 'port'))['port']));
      }
      const configFile = join(dir, 'up', 'berth.yaml');
      await writeFile(
        configFile,
        `# Static configuration of the demo controller (berth up).\nentryPoints:\n  web:\n    address: ":${basePort}"\n  websecure:\n    address: ":${tlsPort}"\nproviders:\n  file:\n    directory: ./dynamic\n`,
      );
      const routesFile = join(dynamicDir, 'demo.yml');
      await writeFile(routesFile, demoDynamicConfig(backends));

      const readyFile = join(dir, 'controller', 'ready.json');
      await mkdir(join(dir, 'controller'), { recursive: true });
      const controller = group.berth(
        'controller',
        [
          'controller',
          '--config',
          configFile,
          '--data-dir',
          join(dir, 'controller'),
          '--listen',
          '127.0.0.1:0',
          '--api',
          api,
          '--ready-file',
          readyFile,
        ],
        { logFile: join(logs, 'controller.log') },
      );
      const ready = await Promise.race([
        waitForJsonFile<{ pid: number; api: string; token: string }>(
          readyFile,
          (r) => r.pid === controller.pid,
          20_000,
          () => controller.output(),
        ),
        controller.exited.then(() => {
          throw new CliError('BERTH_CLI_START', `the controller exited:\n${controller.output()}`);
        }),
      ]);

      const statusFiles: string[] = [];
      for (let i = 1; i <= count; i++) {
        const name = `node-${i}`;
        const statusFile = join(dir, name, 'status.json');
        statusFiles.push(statusFile);
        group.berth(
          name,
          [
            'proxy',
            '--name',
            name,
            '--data-dir',
            join(dir, name),
            '--entrypoint',
            `web=127.0.0.1:${basePort + i - 1}`,
            '--entrypoint',
            `websecure=127.0.0.1:${tlsPort + i - 1}`,
            '--status-file',
            statusFile,
            // Several nodes share this host: one worker each exercises the multi-process path without
            // forking a worker per core per node.
            '--workers',
            '1',
          ],
          { logFile: join(logs, `${name}.log`), env: { ...process.env, BERTH_JOIN_TOKEN: ready.token } },
        );
      }
      for (const [i, f] of statusFiles.entries()) {
        await waitForJsonFile<{ appliedVersion: number }>(
          f,
          (s) => s.appliedVersion > 0,
          20_000,
          () => group.children.find((c) => c.name === `node-${i + 1}`)?.output() ?? '',
        );
      }

      const urls = statusFiles.map((_, i) => `http://127.0.0.1:${basePort + i}/`);
      process.stdout.write(
        [
          '',
          `Berth is up: 1 controller, ${count} proxy nodes, 2 demo backends.`,
          '',
          '  Proxy nodes (each routes to both backends, round robin):',
          ...urls.map((u, i) => `    node-${i + 1}  ${u}`),
          '',
          `  Try:        curl -H 'Host: demo.localhost' ${urls[0]}`,
          `  HTTPS:      curl -k --resolve demo.localhost:${tlsPort}:127.0.0.1 https://demo.localhost:${tlsPort}/`,
          `  API:        ${ready.api}/api/v1/nodes   (also: /routers /services /snapshot /errors)`,
          `  CLI:        node ${relative(process.cwd(), berthBin)} nodes   (or routes; \`berth ...\` when installed)`,
          `  Add a route: edit ${routesFile}`,
          '              and save; every node applies it within a second.',
          `  Logs:       ${logs}/`,
          '',
          'Press Ctrl-C to stop everything.',
          '',
        ].join('\n'),
      );
      const ended = await Promise.race([
        untilSignal().then(() => null),
        ...group.children.map((c) => c.exited.then(() => c)),
      ]);
      if (ended)
        process.stderr.write(
          `berth up: ${ended.name} exited unexpectedly; stopping (see ${logs}/${ended.name}.log)\n`,
        );
      await stopAll();
      return ended ? 1 : 0;
    } catch (err) {
      await stopAll();
      throw err;
    }
  },
};
