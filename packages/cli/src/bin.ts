#!/usr/bin/env node
// The `berth` command: dispatches to one module per subcommand.
import module from 'node:module';

// Node 22.1 and later keep V8's compiled code of the modules a start loads (about 160 for a
// node) on disk, so the next start skips compiling them; Node 20 has no such cache. Imported
// after this line, so it covers everything else. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
const withCache = module as { enableCompileCache?: () => unknown };
try {
  withCache.enableCompileCache?.();
} catch {
  // no writable cache directory: start without it
}

const { run } = await import('./main.js');

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
