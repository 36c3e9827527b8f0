#!/usr/bin/env node
// The `berth` command as npm links it (node_modules/.bin/berth, `npm link`). npm links bins at
// `npm ci` time, before anything is built, so the package's bin is this committed file, which
// loads the compiled CLI from dist/ and says what to do when it is not there yet.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/bin.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    `berth: the CLI is not built (${fileURLToPath(entry)} is missing).\n` +
      'Run `npm run build` at the root of the Berth checkout first.\n',
  );
  process.exit(1);
}
await import(entry.href);
