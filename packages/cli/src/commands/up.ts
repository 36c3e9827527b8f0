// `berth up`: a controller, N proxy nodes (restarted when they die) and two demo backends on loopback.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { apiGet, DEFAULT_API, parseApiAddress } from '../api-client.js';
import { CliError } from '../output.js';
import { type Child, ChildGroup, waitForJsonFile } from '../process/child-group.js';
import { waitForNodeReady } from '../process/node-readiness.js';
import { Supervisor } from '../process/supervisor.js';
import { type Command, str, untilSignal } from './command.js';

/** The demo's routes: written only when missing, so a user's edits survive every restart. */
const DEMO_ROUTES = `# Routes of the \`berth up\` demo. Edit and save: every node applies the change within a second.
# berth up writes this file only when it is missing: your edits survive a restart.
# The service \`demo\` (the two demo backends, on new ports at each start) is defined in
# demo-backends.yml, which berth up rewrites at every start; put your own services here.
http:
  routers:
    demo:
      rule: Host(\`demo.localhost\`)
      entryPoints: [web]
      service: demo
    demo-tls:
      rule: Host(\`demo.localhost\`)
      entryPoints: [websecure]
      service: demo
      tls: {} # HTTPS (HTTP/2 too) with the controller's default certificate until you add yours
    catch-all:
      rule: PathPrefix(\`/\`)
      entryPoints: [web]
      priority: 1
      service: demo
`;

/** The first line of the demo.yml older versions of berth up wrote (and rewrote) with the service in it. */
const OLD_DEMO_HEADER = '# Dynamic configuration, watched: edit and save, every node picks it up.';

/** The demo backends' service, rewritten at every start: the backends get new ports each time. */
function demoBackendsConfig(backends: number[]): string {
  return `# Written by \`berth up\` at every start (the demo backends listen on new ports each time): do not edit.
# Your routes and services go in demo.yml, or in any other file in this directory.
http:
  services:
    demo:
      loadBalancer:
        servers:
${backends.map((p) => `          - url: http://127.0.0.1:${p}`).join('\n')}
`;
}

/** Writes `text` to `path` unless the file exists; true when it wrote. */
async function writeIfMissing(path: string, text: string): Promise<boolean> {
  try {
    await writeFile(path, text, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') return false;
    throw err;
  }
}

function describeExit(code: number | string): string {
  return typeof code === 'number' ? `exit code ${code}` : code;
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
    api: {
      type: 'string',
      arg: 'host:port|url',
      help: 'controller API address, host:port or http://host:port',
      default: '127.0.0.1:7380',
    },
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
    const api = parseApiAddress(str(v, 'api') ?? '127.0.0.1:7380').hostPort;
    const dir = resolve(str(v, 'dir') ?? '.berth');
    const logs = join(dir, 'logs');
    const dynamicDir = join(dir, 'up', 'dynamic');
    await mkdir(logs, { recursive: true });
    await mkdir(dynamicDir, { recursive: true });
    const say = (line: string) => process.stderr.write(`berth up: ${line}\n`);

    const group = new ChildGroup();
    const supervisors: Supervisor[] = [];
    const stopAll = async () => {
      for (const s of supervisors) s.stop();
      await group.stopAll('SIGTERM', 5000);
    };
    try {
      const backendChildren: Child[] = [];
      const backends: number[] = [];
      for (const name of ['demo-a', 'demo-b']) {
        const child = group.berth(name, ['demo-backend', '--name', name], {
          logFile: join(logs, `${name}.log`),
        });
        backendChildren.push(child);
        backends.push(Number((await firstJsonLine(child, 'port'))['port']));
      }
      const configFile = join(dir, 'up', 'berth.yaml');
      await writeFile(
        configFile,
        `# Static configuration of the demo controller (berth up).\nentryPoints:\n  web:\n    address: ":${basePort}"\n  websecure:\n    address: ":${tlsPort}"\nproviders:\n  file:\n    directory: ./dynamic\n`,
      );
      const routesFile = join(dynamicDir, 'demo.yml');
      await writeFile(join(dynamicDir, 'demo-backends.yml'), demoBackendsConfig(backends));
      if (!(await writeIfMissing(routesFile, DEMO_ROUTES))) {
        say(`keeping your ${relative(process.cwd(), routesFile)} (written only when missing)`);
        // Before demo-backends.yml, berth up wrote the service (with that start's ports) into demo.yml.
        if ((await readFile(routesFile, 'utf8')).startsWith(OLD_DEMO_HEADER))
          say(
            'that file comes from an older berth up and defines the service `demo` itself, with old ports: delete it (or its `services:` section) to get the demo working',
          );
      }

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

      // What the nodes must serve before the demo is announced: on a second `berth up` their caches
      // hold the last run's snapshot, whose demo backends listened on other ports.
      const current = await apiGet<{ epoch: string; version: number }>({ url: ready.api }, '/api/v1/status');
      const nodes = Array.from({ length: count }, (_, k) => {
        const name = `node-${k + 1}`;
        const statusFile = join(dir, name, 'status.json');
        const logFile = join(logs, `${name}.log`);
        const start = () =>
          group.berth(
            name,
            [
              'proxy',
              '--name',
              name,
              '--data-dir',
              join(dir, name),
              '--entrypoint',
              `web=127.0.0.1:${basePort + k}`,
              '--entrypoint',
              `websecure=127.0.0.1:${tlsPort + k}`,
              '--status-file',
              statusFile,
              // Several nodes share this host: one worker each exercises the multi-process path without
              // forking a worker per core per node.
              '--workers',
              '1',
            ],
            { logFile, env: { ...process.env, BERTH_JOIN_TOKEN: ready.token } },
          );
        const readiness = { entryPoints: ['web', 'websecure'], statusFile, logFile, current };
        return { name, start, readiness, first: start() };
      });
      // Every node has applied a snapshot and bound both entry points, or `berth up` fails with the reason.
      await Promise.all(nodes.map((n) => waitForNodeReady(n.first, n.readiness)));

      // Nodes are stateless: one that dies is started again while the others keep serving.
      for (const n of nodes) {
        supervisors.push(
          new Supervisor(n.first, n.start, {
            exited: (child, code, delayMs) =>
              say(
                `${child.name} exited (${describeExit(code)}); restarting it in ${delayMs / 1000} s, the other nodes keep serving (log: ${n.readiness.logFile})`,
              ),
            restarted: (child) => {
              waitForNodeReady(child, n.readiness).then(
                () => say(`${child.name} is serving again (pid ${child.pid})`),
                (err: Error) => {
                  // An exit is reported (and handled) by the supervisor itself.
                  if (child.proc.exitCode === null && child.proc.signalCode === null)
                    say(`${child.name} restarted but is not serving: ${err.message}`);
                },
              );
            },
          }),
        );
      }

      // Listening before the banner: whoever reads it may press Ctrl-C (or send SIGINT) at once.
      const signalled = untilSignal();
      const apiFlag = ready.api === DEFAULT_API ? '' : ` --api ${ready.api}`;
      const urls = nodes.map((_, i) => `http://127.0.0.1:${basePort + i}/`);
      process.stdout.write(
        [
          '',
          `Berth is up: 1 controller, ${count} proxy nodes, 2 demo backends.`,
          '',
          '  Proxy nodes (each routes to both backends, round robin; a node that dies is restarted):',
          ...urls.map((u, i) => `    node-${i + 1}  ${u}`),
          '',
          `  Try:        curl -H 'Host: demo.localhost' ${urls[0]}`,
          `  HTTPS:      curl -k --resolve demo.localhost:${tlsPort}:127.0.0.1 https://demo.localhost:${tlsPort}/`,
          `  API:        ${ready.api}/api/v1/nodes   (also: /routers /services /snapshot /errors)`,
          `  CLI:        npx berth nodes${apiFlag}   (or routes, certs; \`berth ...\` once on your PATH)`,
          `  Add a route: edit ${routesFile}`,
          '              and save; every node applies it within a second.',
          `  Logs:       ${logs}/`,
          '',
          'Press Ctrl-C to stop everything.',
          '',
        ].join('\n'),
      );
      // The controller and the demo backends are not restarted: one of them ending stops the demo.
      const ended = await Promise.race([
        signalled.then(() => null),
        ...[controller, ...backendChildren].map((c) => c.exited.then(() => c)),
      ]);
      if (ended) say(`${ended.name} exited unexpectedly; stopping (see ${logs}/${ended.name}.log)`);
      await stopAll();
      return ended ? 1 : 0;
    } catch (err) {
      await stopAll();
      throw err;
    }
  },
};
