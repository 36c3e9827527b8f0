// `berth token`: prints the join token nodes need, read from the controller's data dir.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../output.js';
import { type Command, str } from './command.js';

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
  },
  examples: ['berth proxy --join "$(berth token)"'],
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
    process.stdout.write(`${token}\n`);
    return 0;
  },
};
