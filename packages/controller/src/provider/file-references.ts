// Reads the files a configuration points at (basicAuth usersFile, transport CAs and client certificates) on the controller, so nodes get their contents in the snapshot and need no files of their own.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ConfigError, HttpMiddleware, ServersTransport } from '@berth/config';
import type { ProviderPart } from './provider-part.js';

export const FILE_REFERENCE = 'BERTH_FILE_REFERENCE';

export type ReadText = (path: string) => Promise<string>;

const PEM = /-----BEGIN [A-Z0-9 ]+-----/;

/** Relative paths are read from the directory of the configuration file that names them. */
function locate(sourceKey: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(sourceKey), path);
}

/**
 * Returns parts whose file references are replaced by the files' contents. An element whose file
 * cannot be read is dropped with a `BERTH_FILE_REFERENCE` error naming the file; the compiler then
 * disables only the routers that use it.
 */
export async function resolveFileReferences(
  parts: readonly ProviderPart[],
  readText: ReadText = (p) => readFile(p, 'utf8'),
): Promise<ProviderPart[]> {
  return Promise.all(parts.map((part) => resolvePart(part, readText)));
}

async function resolvePart(part: ProviderPart, readText: ReadText): Promise<ProviderPart> {
  const middlewares = part.config.http.middlewares;
  const transports = part.config.http.serversTransports;
  if (!middlewares && !transports) return part;
  const errors: ConfigError[] = [];
  const fail = (path: string, file: string, err: unknown) => {
    errors.push({
      code: FILE_REFERENCE,
      path,
      message: `cannot read ${file}: ${(err as Error).message}`,
      source: { provider: 'file', origin: part.sourceKey },
    });
  };

  let resolvedMiddlewares: Record<string, HttpMiddleware> | undefined;
  if (middlewares) {
    resolvedMiddlewares = {};
    for (const [name, mw] of Object.entries(middlewares)) {
      const usersFile = mw.basicAuth?.usersFile;
      if (!mw.basicAuth || !usersFile) {
        resolvedMiddlewares[name] = mw;
        continue;
      }
      const file = locate(part.sourceKey, usersFile);
      try {
        const lines = (await readText(file))
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter((l) => l !== '' && !l.startsWith('#'));
        const { usersFile: _read, ...rest } = mw.basicAuth;
        resolvedMiddlewares[name] = { basicAuth: { ...rest, users: [...(rest.users ?? []), ...lines] } };
      } catch (err) {
        fail(`http.middlewares.${name}.basicAuth.usersFile`, file, err);
      }
    }
  }

  let resolvedTransports: Record<string, ServersTransport> | undefined;
  if (transports) {
    resolvedTransports = {};
    for (const [name, t] of Object.entries(transports)) {
      try {
        resolvedTransports[name] = await resolveTransport(part.sourceKey, t, readText);
      } catch (err) {
        const { path, file, cause } = err as { path: string; file: string; cause: unknown };
        fail(`http.serversTransports.${name}.${path}`, file, cause);
      }
    }
  }

  return {
    ...part,
    config: {
      ...part.config,
      http: {
        ...part.config.http,
        ...(resolvedMiddlewares ? { middlewares: resolvedMiddlewares } : {}),
        ...(resolvedTransports ? { serversTransports: resolvedTransports } : {}),
      },
    },
    errors: [...part.errors, ...errors],
  };
}

async function resolveTransport(
  sourceKey: string,
  t: ServersTransport,
  readText: ReadText,
): Promise<ServersTransport> {
  const read = async (path: string, value: string) => {
    // Inline PEM stays as it is.
    if (PEM.test(value)) return value;
    const file = locate(sourceKey, value);
    try {
      return await readText(file);
    } catch (cause) {
      throw { path, file, cause };
    }
  };
  const out: ServersTransport = { ...t };
  if (t.rootCAs) out.rootCAs = await Promise.all(t.rootCAs.map((ca, i) => read(`rootCAs.${i}`, ca)));
  if (t.certificates) {
    out.certificates = await Promise.all(
      t.certificates.map(async (c, i) => ({
        certFile: await read(`certificates.${i}.certFile`, c.certFile),
        keyFile: await read(`certificates.${i}.keyFile`, c.keyFile),
      })),
    );
  }
  return out;
}
