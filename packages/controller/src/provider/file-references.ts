// Reads the files a configuration points at (basicAuth and digestAuth usersFile, forwardAuth and rateLimit.redis TLS files, transport CAs and client certificates, TLS certificates and client CAs) on the controller, so nodes get their contents in the snapshot and need no files of their own.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type {
  ConfigError,
  HttpMiddleware,
  ServersTransport,
  Source,
  TcpConfig,
  TcpServersTransport,
  TlsCertificate,
  TlsConfig,
  TlsOptions,
  TlsStore,
} from '@berth/config';
import { ErrorCodes } from '../compiler/error-codes.js';
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
  const withTls = await resolveTlsAndTcp(part, readText);
  return resolveHttp(withTls, readText);
}

async function resolveHttp(part: ProviderPart, readText: ReadText): Promise<ProviderPart> {
  const middlewares = part.config.http.middlewares;
  const transports = part.config.http.serversTransports;
  if (!middlewares && !transports) return part;
  const errors: ConfigError[] = [];
  const fail = (path: string, file: string, err: unknown) => {
    errors.push({
      code: FILE_REFERENCE,
      path,
      message: `cannot read ${file}: ${(err as Error).message}`,
      source: { provider: part.provider ?? 'file', origin: part.sourceKey },
    });
  };

  let resolvedMiddlewares: Record<string, HttpMiddleware> | undefined;
  if (middlewares) {
    resolvedMiddlewares = {};
    const read = pemReader(part.sourceKey, readText);
    for (const [name, mw] of Object.entries(middlewares)) {
      const auth = mw.basicAuth ?? mw.digestAuth;
      const kind = mw.basicAuth ? 'basicAuth' : 'digestAuth';
      const usersFile = auth?.usersFile;
      if (auth && usersFile) {
        const file = locate(part.sourceKey, usersFile);
        try {
          const lines = (await readText(file))
            .split(/\r?\n/)
            .map((l) => l.trim())
            .filter((l) => l !== '' && !l.startsWith('#'));
          const { usersFile: _read, ...rest } = auth;
          resolvedMiddlewares[name] = { [kind]: { ...rest, users: [...(rest.users ?? []), ...lines] } };
        } catch (err) {
          fail(`http.middlewares.${name}.${kind}.usersFile`, file, err);
        }
        continue;
      }
      const tls = mw.forwardAuth?.tls;
      if (mw.forwardAuth && tls && (tls.ca || tls.cert || tls.key)) {
        try {
          const out = { ...tls };
          if (tls.ca) out.ca = await read('tls.ca', tls.ca);
          if (tls.cert) out.cert = await read('tls.cert', tls.cert);
          if (tls.key) out.key = await read('tls.key', tls.key);
          resolvedMiddlewares[name] = { forwardAuth: { ...mw.forwardAuth, tls: out } };
        } catch (err) {
          const { path, file, cause } = err as ReadFailure;
          fail(`http.middlewares.${name}.forwardAuth.${path}`, file, cause);
        }
        continue;
      }
      const redis = mw.rateLimit?.redis;
      const redisTls = redis?.tls;
      if (mw.rateLimit && redis && redisTls && (redisTls.ca || redisTls.cert || redisTls.key)) {
        try {
          const out = { ...redisTls };
          if (redisTls.ca) out.ca = await read('tls.ca', redisTls.ca);
          if (redisTls.cert) out.cert = await read('tls.cert', redisTls.cert);
          if (redisTls.key) out.key = await read('tls.key', redisTls.key);
          resolvedMiddlewares[name] = { rateLimit: { ...mw.rateLimit, redis: { ...redis, tls: out } } };
        } catch (err) {
          const { path, file, cause } = err as ReadFailure;
          fail(`http.middlewares.${name}.rateLimit.redis.${path}`, file, cause);
        }
        continue;
      }
      resolvedMiddlewares[name] = mw;
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

interface ReadFailure {
  path: string;
  file: string;
  cause: unknown;
}

/** Reads `value` unless it is inline PEM; a failure carries the element path and the file. */
function pemReader(sourceKey: string, readText: ReadText) {
  return async (path: string, value: string): Promise<string> => {
    if (PEM.test(value)) return value;
    const file = locate(sourceKey, value);
    try {
      return await readText(file);
    } catch (cause) {
      throw { path, file, cause } satisfies ReadFailure;
    }
  };
}

/**
 * `tls.certificates`, store default certificates, `tls.options.*.clientAuth.caFiles` and the TLS
 * files of `tcp.serversTransports`. An unreadable certificate is left out with `BERTH_TLS_CERT_READ`
 * (the other certificates still apply); an unreadable CA drops its options or transport.
 */
async function resolveTlsAndTcp(part: ProviderPart, readText: ReadText): Promise<ProviderPart> {
  const tls = part.config.tls;
  const tcp = part.config.tcp;
  if (tls === undefined && tcp?.serversTransports === undefined) return part;
  const read = pemReader(part.sourceKey, readText);
  const errors: ConfigError[] = [];
  const fileSource: Source = { provider: 'file', origin: part.sourceKey };
  const fail = (code: string, prefix: string, failure: ReadFailure, source: Source = fileSource) => {
    const message = `cannot read ${failure.file}: ${(failure.cause as Error).message}`;
    errors.push({ code, path: `${prefix}.${failure.path}`, message, source });
  };
  const sources = part.sources === undefined ? undefined : { ...part.sources };

  let outTls: TlsConfig | undefined;
  if (tls !== undefined) {
    outTls = { ...tls };
    if (tls.certificates !== undefined) {
      const kept: TlsCertificate[] = [];
      const keptSources: Source[] = [];
      for (const [i, cert] of tls.certificates.entries()) {
        const source = part.sources?.tlsCertificates?.[i];
        try {
          kept.push({
            ...cert,
            certFile: await read('certFile', cert.certFile),
            keyFile: await read('keyFile', cert.keyFile),
          });
          if (source !== undefined) keptSources.push(source);
        } catch (err) {
          fail(ErrorCodes.TLS_CERT_READ, `tls.certificates.${i}`, err as ReadFailure, source);
        }
      }
      outTls.certificates = kept;
      if (sources?.tlsCertificates !== undefined) sources.tlsCertificates = keptSources;
    }
    if (tls.stores !== undefined) {
      const stores: Record<string, TlsStore> = {};
      for (const [name, store] of Object.entries(tls.stores)) {
        const def = store.defaultCertificate;
        if (def === undefined) {
          stores[name] = store;
          continue;
        }
        try {
          const certFile = await read('certFile', def.certFile);
          const keyFile = await read('keyFile', def.keyFile);
          stores[name] = { ...store, defaultCertificate: { certFile, keyFile } };
        } catch (err) {
          // The store stays, without its default certificate: the generated one takes its place.
          const { defaultCertificate: _unreadable, ...rest } = store;
          stores[name] = rest;
          const source = part.sources?.tlsStores?.[name];
          fail(ErrorCodes.TLS_CERT_READ, `tls.stores.${name}.defaultCertificate`, err as ReadFailure, source);
        }
      }
      outTls.stores = stores;
    }
    if (tls.options !== undefined) {
      const options: Record<string, TlsOptions> = {};
      for (const [name, opt] of Object.entries(tls.options)) {
        const caFiles = opt.clientAuth?.caFiles;
        if (caFiles === undefined) {
          options[name] = opt;
          continue;
        }
        try {
          const pems = await Promise.all(caFiles.map((ca, i) => read(`caFiles.${i}`, ca)));
          options[name] = { ...opt, clientAuth: { ...opt.clientAuth, caFiles: pems } };
        } catch (err) {
          const source = part.sources?.tlsOptions?.[name];
          fail(FILE_REFERENCE, `tls.options.${name}.clientAuth`, err as ReadFailure, source);
        }
      }
      outTls.options = options;
    }
  }

  let outTcp: TcpConfig | undefined = tcp;
  if (tcp?.serversTransports !== undefined) {
    const transports: Record<string, TcpServersTransport> = {};
    for (const [name, t] of Object.entries(tcp.serversTransports)) {
      if (t.tls === undefined) {
        transports[name] = t;
        continue;
      }
      try {
        const out = { ...t.tls };
        if (out.rootCAs)
          out.rootCAs = await Promise.all(out.rootCAs.map((ca, i) => read(`rootCAs.${i}`, ca)));
        if (out.certificates) {
          out.certificates = await Promise.all(
            out.certificates.map(async (c, i) => ({
              certFile: await read(`certificates.${i}.certFile`, c.certFile),
              keyFile: await read(`certificates.${i}.keyFile`, c.keyFile),
            })),
          );
        }
        transports[name] = { ...t, tls: out };
      } catch (err) {
        const source = part.sources?.tcpServersTransports?.[name];
        fail(FILE_REFERENCE, `tcp.serversTransports.${name}.tls`, err as ReadFailure, source);
      }
    }
    outTcp = { ...tcp, serversTransports: transports };
  }

  const config = { ...part.config };
  if (outTls !== undefined) config.tls = outTls;
  if (outTcp !== undefined) config.tcp = outTcp;
  return {
    ...part,
    config,
    errors: [...part.errors, ...errors],
    ...(sources === undefined ? {} : { sources }),
  };
}
