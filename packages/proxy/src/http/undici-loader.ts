// undici, required on first use: most of a proxy's start-up CPU, and the fast path serves without it.
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

export type UndiciModule = typeof Undici;

const require = createRequire(import.meta.url);
let loaded: UndiciModule | undefined;

/**
 * The undici module, loaded synchronously the first time (undici is CommonJS). A node restarted
 * from its cache answers its first requests on the raw fast path before anything needs it.
 */
export function undici(): UndiciModule {
  loaded ??= require('undici') as UndiciModule;
  return loaded;
}
