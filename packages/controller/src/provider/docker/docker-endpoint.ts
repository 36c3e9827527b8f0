// Where Docker is (a unix socket, or TCP with optional TLS): parsed without loading dockerode, so
// reading the static configuration costs no Docker client.
import { join } from 'node:path';

/** How to reach Docker: a unix socket, or TCP with optional TLS (file paths, read at connect time). */
export type DockerConnection =
  | { kind: 'socket'; socketPath: string }
  | {
      kind: 'tcp';
      host: string;
      port: number;
      protocol: 'http' | 'https';
      tls?: { ca?: string; cert?: string; key?: string; insecureSkipVerify?: boolean };
    };

export interface DockerTlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify?: boolean;
}

/**
 * Parses an endpoint (`unix:///path`, `tcp://host:port`, `http(s)://host:port`) with Docker's own
 * conventions: `tcp://` speaks TLS when certificates are given (settings or DOCKER_CERT_PATH with
 * DOCKER_TLS_VERIFY) and plain HTTP otherwise. Returns a message instead of throwing.
 */
export function parseDockerEndpoint(
  endpoint: string,
  tls: DockerTlsFiles | null,
  env: Record<string, string | undefined> = {},
): { ok: true; connection: DockerConnection } | { ok: false; message: string } {
  const value = endpoint.trim();
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length);
    if (!socketPath.startsWith('/'))
      return { ok: false, message: `'${endpoint}': a unix socket needs an absolute path` };
    return { ok: true, connection: { kind: 'socket', socketPath } };
  }
  if (value.startsWith('/')) return { ok: true, connection: { kind: 'socket', socketPath: value } };
  const match = /^(tcp|http|https):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d{1,5}))?\/?$/.exec(value);
  if (!match) {
    return {
      ok: false,
      message: `'${endpoint}' is not a Docker endpoint: use unix:///path/docker.sock, tcp://host:port or https://host:port`,
    };
  }
  const scheme = match[1] as 'tcp' | 'http' | 'https';
  const host = (match[2] ?? '').replace(/^\[|\]$/g, '');
  let files: DockerTlsFiles | null = tls;
  const certPath = env['DOCKER_CERT_PATH'];
  if (files === null && certPath && env['DOCKER_TLS_VERIFY'] && env['DOCKER_TLS_VERIFY'] !== '0') {
    files = {
      ca: join(certPath, 'ca.pem'),
      cert: join(certPath, 'cert.pem'),
      key: join(certPath, 'key.pem'),
    };
  }
  const protocol = scheme === 'https' || (scheme === 'tcp' && files !== null) ? 'https' : 'http';
  const port = match[3] ? Number(match[3]) : protocol === 'https' ? 2376 : 2375;
  if (port < 1 || port > 65535) return { ok: false, message: `'${endpoint}': port out of range` };
  const connection: DockerConnection =
    protocol === 'https' && files !== null
      ? { kind: 'tcp', host, port, protocol, tls: files }
      : { kind: 'tcp', host, port, protocol };
  return { ok: true, connection };
}

export function describeConnection(connection: DockerConnection): string {
  return connection.kind === 'socket'
    ? `unix://${connection.socketPath}`
    : `${connection.protocol === 'https' ? 'https' : 'tcp'}://${connection.host}:${connection.port}`;
}
