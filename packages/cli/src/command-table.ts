// Every subcommand's name and summary, and how to load it: `berth --help` lists them without
// loading any command, and a command's modules (the controller's fastify, the proxy's data plane)
// load only when that command runs.
import type { Command } from './commands/command.js';

export interface CommandEntry {
  name: string;
  summary: string;
  hidden?: boolean;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'up',
    summary: 'start a controller, proxy nodes and two demo backends on this host',
    load: async () => (await import('./commands/up.js')).upCommand,
  },
  {
    name: 'controller',
    summary: 'run the controller: providers, compiler, snapshot store, node channel, API',
    load: async () => (await import('./commands/controller.js')).controllerCommand,
  },
  {
    name: 'proxy',
    summary: 'run a proxy node that joins a controller',
    load: async () => (await import('./commands/proxy.js')).proxyCommand,
  },
  {
    name: 'token',
    summary:
      "print the join token for proxy nodes (from the controller's data dir); `token rotate` replaces it",
    load: async () => (await import('./commands/token.js')).tokenCommand,
  },
  {
    name: 'nodes',
    summary: 'list proxy nodes with their applied snapshot version; `nodes rm NAME|ID` removes one',
    load: async () => (await import('./commands/nodes.js')).nodesCommand,
  },
  {
    name: 'routes',
    summary: 'list HTTP routers (or TCP routers with --tcp) with their rule, service and status',
    load: async () => (await import('./commands/routes.js')).routesCommand,
  },
  {
    name: 'certs',
    summary: 'list TLS certificates: names, expiry, origin, ACME renewal, OCSP status and errors',
    load: async () => (await import('./commands/certs.js')).certsCommand,
  },
  {
    name: 'healthcheck',
    summary: "exit 0 when this host's berth controller or proxy node answers /healthz with 200, else 1",
    load: async () => (await import('./commands/healthcheck.js')).healthcheckCommand,
  },
  {
    name: 'demo-backend',
    summary: 'run a sample backend that echoes the request (used by `berth up`)',
    hidden: true,
    load: async () => (await import('./commands/demo-backend.js')).demoBackendCommand,
  },
];
