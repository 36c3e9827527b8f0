// `berth proxy`: a stateless node; joins a controller with a token and moves traffic.
import { availableParallelism, hostname } from 'node:os';
import { logProcessWarnings, ProtocolError, parseToken, writeFileAtomic } from '@berth/protocol';
// The node's own entry, not the package index: a proxy start loads only what a node runs.
import { type ProxyNode, startProxyNode } from '@berth/proxy/node';
import { createLogger } from '../logger.js';
import { CliError, rethrowAsCliError } from '../output.js';
import { readSecret, type SecretFlags } from '../secrets.js';
import { type Command, millis, str, strs, untilSignal } from './command.js';
import { parseEntryPointFlags } from './entry-point-flags.js';

const JOIN_TOKEN: SecretFlags = { flag: 'join', fileFlag: 'join-file', env: 'BERTH_JOIN_TOKEN' };

export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'run a proxy node that joins a controller',
  options: {
    'join-file': {
      type: 'string',
      arg: 'path',
      help: "file holding the join token, e.g. the controller's <data-dir>/join-token (or BERTH_JOIN_TOKEN)",
    },
    join: {
      type: 'string',
      arg: 'token',
      help: 'join token from `berth token`; visible to every local user in ps: prefer --join-file',
    },
    name: { type: 'string', arg: 'name', help: 'node name shown by `berth nodes` (default: host name)' },
    'data-dir': {
      type: 'string',
      arg: 'dir',
      help: 'node id, pinned CA, snapshot cache',
      default: '.berth/proxy',
    },
    entrypoint: {
      type: 'string',
      multiple: true,
      arg: 'name=address',
      help: "listen on this address instead of the snapshot's for an entry point (repeatable)",
    },
    metrics: {
      type: 'string',
      arg: 'host:port',
      help: 'serve Prometheus /metrics on this node-local address (every worker, labelled worker)',
    },
    'status-file': {
      type: 'string',
      arg: 'file',
      help: 'write {applied version, listeners, workers} as JSON after each apply',
    },
    'heartbeat-ms': {
      type: 'string',
      arg: 'ms',
      help: 'expected controller heartbeat interval',
      default: '5000',
    },
    'reconnect-max-ms': {
      type: 'string',
      arg: 'ms',
      help: 'longest wait between reconnect attempts (jittered: a restarted controller has its nodes back within it)',
      default: '3000',
    },
    workers: {
      type: 'string',
      arg: 'n',
      help: 'worker processes serving traffic, 0 = serve in this process (default: one per core)',
    },
    'log-level': { type: 'string', arg: 'level', help: 'pino log level', default: 'info' },
  },
  examples: [
    'berth proxy --join-file .berth/controller/join-token',
    'BERTH_JOIN_TOKEN="$(berth token)" berth proxy --entrypoint web=127.0.0.1:8081',
    'berth proxy --join-file /etc/berth/join-token --workers 4',
  ],
  async run(v) {
    const name = str(v, 'name') ?? hostname();
    const logger = createLogger('proxy', str(v, 'log-level') ?? 'info').child({ node: name });
    logProcessWarnings(logger);
    const tokenText = readSecret(v, JOIN_TOKEN, (code, message) => logger.warn({ code }, message));
    if (!tokenText)
      throw new CliError(
        'BERTH_CLI_NO_TOKEN',
        'a join token is required: --join-file <path> or BERTH_JOIN_TOKEN (or --join <token>)',
      );
    let token: ReturnType<typeof parseToken>;
    try {
      token = parseToken(tokenText);
    } catch (err) {
      if (err instanceof ProtocolError) throw new CliError(err.code, err.message);
      throw err;
    }
    const workers = parseWorkers(str(v, 'workers'));
    const statusFile = str(v, 'status-file');
    let statusWrites: Promise<void> = Promise.resolve();
    // Listened for from here: a SIGTERM while workers still boot (a scale-down right after a
    // scale-up) must stop the node gracefully too, not kill it before it can leave the controller.
    const signalled = untilSignal();
    let node: ProxyNode;
    try {
      node = await startProxyNode({
        token,
        name,
        dataDir: str(v, 'data-dir') ?? '.berth/proxy',
        entryPointOverrides: Object.fromEntries(
          Object.entries(parseEntryPointFlags(strs(v, 'entrypoint'))).map(([k, e]) => [k, e.address]),
        ),
        heartbeatMs: millis(v, 'heartbeat-ms', 5000),
        reconnectMaxMs: millis(v, 'reconnect-max-ms', 3000),
        workers,
        logger,
        ...(str(v, 'metrics') ? { metricsAddress: str(v, 'metrics') as string } : {}),
        ...(statusFile
          ? {
              // Writes in order: with workers, a replacement's catch-up may follow an apply closely.
              onApplied: (status) => {
                statusWrites = statusWrites.then(() =>
                  writeFileAtomic(statusFile, JSON.stringify({ pid: process.pid, ...status }), 0o644).catch(
                    (err: Error) => logger.error({ err: err.message }, 'cannot write status file'),
                  ),
                );
              },
            }
          : {}),
      });
    } catch (err) {
      // A bad --metrics address, workers that cannot start: the user's to fix, so no stack trace.
      rethrowAsCliError(err);
    }
    const stop = await Promise.race([signalled, node.failed]);
    if (typeof stop === 'string') logger.info({ signal: stop }, 'stopping');
    await node.close();
    // The controller refused the join token and there is no cached snapshot to serve.
    if (typeof stop !== 'string') throw new CliError(stop.code, stop.message);
    return 0;
  },
};

const MAX_WORKERS = 256;

/** `--workers`: a count, 0 for in process; absent means one per core. */
export function parseWorkers(text: string | undefined): number {
  if (text === undefined) return availableParallelism();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n > MAX_WORKERS)
    throw new CliError('BERTH_CLI_BAD_FLAG', `--workers must be 0..${MAX_WORKERS}, got "${text}"`);
  return n;
}
