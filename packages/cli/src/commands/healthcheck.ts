// `berth healthcheck`: asks the running controller or proxy node its /healthz; the exit status is the verdict (Docker HEALTHCHECK).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseDuration } from '@berth/config';
import { COMMANDS } from '../command-table.js';
import { CliError } from '../output.js';
import { findBerthProcess } from '../process/berth-process.js';
import { healthTarget, NO_HEALTH_ENDPOINT, SERVING_COMMANDS } from '../process/health-target.js';
import { type Command, str } from './command.js';

export const UNHEALTHY = 'BERTH_CLI_UNHEALTHY';

/** Longest part of an answer quoted in a message. */
const QUOTE_CHARS = 200;

interface Answer {
  status: number;
  body: string;
}

/** One GET of `url`, answered whole within `timeoutMs`, or an error saying why not. */
function probe(url: URL, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', agent: false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 4096) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** One line, at most QUOTE_CHARS long: what an answer or error says. */
function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > QUOTE_CHARS ? `${flat.slice(0, QUOTE_CHARS)}…` : flat;
}

/** The /healthz URL of the process to ask: `--url`, or derived from the running process's own flags. */
async function targetUrl(v: Record<string, unknown>): Promise<URL> {
  const given = str(v, 'url');
  if (given !== undefined) {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new CliError('BERTH_CLI_BAD_FLAG', `--url expects http://host:port/healthz, got '${given}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new CliError('BERTH_CLI_BAD_FLAG', `--url must be http or https, got '${given}'`);
    return url;
  }
  const pidText = str(v, 'pid');
  const pid = pidText === undefined ? undefined : Number(pidText);
  if (pid !== undefined && !(/^\d+$/.test(pidText ?? '') && pid > 0 && Number.isSafeInteger(pid)))
    throw new CliError('BERTH_CLI_BAD_FLAG', `--pid must be a process id, got '${pidText}'`);
  const found = await findBerthProcess(pid === undefined ? {} : { pid });
  const { command } = found.invocation;
  const entry = (SERVING_COMMANDS as readonly string[]).includes(command)
    ? COMMANDS.find((c) => c.name === command)
    : undefined;
  if (entry === undefined)
    throw new CliError(
      NO_HEALTH_ENDPOINT,
      `process ${found.pid} runs \`berth ${command}\`, which serves no health endpoint`,
    );
  const target = healthTarget(found.invocation, await entry.load());
  if (!target.ok)
    throw new CliError(target.code, `process ${found.pid} (berth ${command}): ${target.message}`);
  return new URL(target.url);
}

export const healthcheckCommand: Command = {
  name: 'healthcheck',
  summary: "exit 0 when this host's berth controller or proxy node answers /healthz with 200, else 1",
  // Docker reserves exit status 2: a refused flag is unhealthy too.
  usageExitCode: 1,
  options: {
    url: {
      type: 'string',
      arg: 'url',
      help: "the /healthz to ask (default: the running process's own, from its flags)",
    },
    pid: {
      type: 'string',
      arg: 'pid',
      help: 'the berth process to ask (default: pid 1 when it is berth, else the first controller or proxy)',
    },
    timeout: {
      type: 'string',
      arg: 'duration',
      help: 'unhealthy unless it answers within this, e.g. 3s or 500ms',
      default: '3s',
    },
  },
  examples: [
    'berth healthcheck',
    'berth healthcheck --pid 4242 --timeout 1s',
    'berth healthcheck --url http://127.0.0.1:9100/healthz',
    'HEALTHCHECK CMD ["node", "/app/packages/cli/bin/berth.js", "healthcheck"]',
  ],
  async run(v) {
    const timeoutText = str(v, 'timeout') ?? '3s';
    const timeoutMs = parseDuration(timeoutText);
    if (timeoutMs === null || timeoutMs <= 0)
      throw new CliError(
        'BERTH_CLI_BAD_FLAG',
        `--timeout expects a duration such as 3s, got '${timeoutText}'`,
      );
    const url = await targetUrl(v);
    let answer: Answer;
    try {
      answer = await probe(url, timeoutMs);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why =
        code === 'ETIMEDOUT' ? `no answer within ${timeoutText}` : `${oneLine((err as Error).message)}`;
      throw new CliError(UNHEALTHY, `${url.href}: ${why}`);
    }
    if (answer.status !== 200)
      throw new CliError(UNHEALTHY, `${url.href} answered ${answer.status}: ${oneLine(answer.body)}`);
    process.stdout.write(`healthy: ${url.href} ${oneLine(answer.body)}\n`);
    return 0;
  },
};
