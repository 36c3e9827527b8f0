// Binds a server to an entry point address and reports what was actually bound, or why not.
import type { AddressInfo, Server } from 'node:net';

export interface ListenAddress {
  /** `''` means every interface. */
  host: string;
  port: number;
}

export function listen(server: Server, address: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(address.host === '' ? { port: address.port } : { host: address.host, port: address.port });
  });
}

/** `127.0.0.1:41234`, `[::]:80`: the real port even when 0 was asked for. */
export function boundAddress(server: Server): string {
  const info = server.address() as AddressInfo | string | null;
  if (info === null) return '';
  if (typeof info === 'string') return info;
  return info.family === 'IPv6' || info.address.includes(':')
    ? `[${info.address}]:${info.port}`
    : `${info.address}:${info.port}`;
}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this host',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
};

/** `address already in use (EADDRINUSE)`. */
export function describeListenError(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code !== 'string') return message;
  const reason = REASONS[code];
  return reason === undefined ? message : `${reason} (${code})`;
}
