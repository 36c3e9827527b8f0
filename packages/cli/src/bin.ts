#!/usr/bin/env node
// The `berth` command: dispatches to one module per subcommand.
import { run } from './main.js';

run(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`berth: ${(err as Error).stack ?? String(err)}\n`);
    // A half-started command may hold sockets or watchers open: exit instead of hanging.
    process.exit(1);
  },
);
