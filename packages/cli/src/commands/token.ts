// `berth token`: prints the join token nodes need, read from the controller's data dir.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CliError } from '../output.js';
import { bool, type Command, str } from './command.js';

export const tokenCommand: Command = {
  name: 'token',
  summary: "print the join token for proxy nodes (from the controller's data dir)",
  options: {
    'data-dir': {
      type: 'string',
      arg: 'dir',
      help: "the controller's data dir",
      default: '.berth/controller',
    },
    json: { type: 'boolean', help: 'print {"token", "file"} as JSON for scripts' },
  },
  examples: ['BERTH_JOIN_TOKEN="$(berth token)" berth proxy', 'berth token --json'],
  async run(v) {
    const dir = str(v, 'data-dir') ?? '.berth/controller';
    let token: string;
    try {
      token = (await readFile(join(dir, 'join-token'), 'utf8')).trim();
    } catch {
      throw new CliError(
        'BERTH_CLI_NO_TOKEN',
        `no join token in ${dir}: start the controller first, or pass its --data-dir`,
      );
    }
    if (bool(v, 'json')) {
      process.stdout.write(`${JSON.stringify({ token, file: resolve(dir, 'join-token') }, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`${token}\n`);
    return 0;
  },
};
