// The few Docker Engine calls the provider makes, behind a small interface: dockerode in production, a fake in tests.
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { type DockerConnection, describeConnection } from './docker-endpoint.js';
import type { ContainerInspect } from './inspect-facts.js';

/** One message of `GET /events`, the fields the provider reads. */
export interface DockerEvent {
  Type?: string;
  Action?: string;
  /** Pre-1.22 spelling of Action, still sent by some daemons and proxies. */
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export interface EventHandlers {
  onEvent(event: DockerEvent): void;
  /** The stream ended or failed; called once. */
  onEnd(err: Error | null): void;
}

export interface EventSubscription {
  close(): void;
}

/** `GET /events` filters, Docker's `map[string][]string`. */
export type EventFilters = Record<string, string[]>;

export interface DockerClient {
  /** A short human description of where Docker is, for logs and status (no credentials). */
  readonly endpoint: string;
  ping(): Promise<void>;
  /** Ids of containers matching `label` (a key, or `key=value`), running ones unless `all`. */
  listContainerIds(options: { all: boolean; label?: string }): Promise<string[]>;
  /** The container's inspect answer, or null when it no longer exists. */
  inspectContainer(id: string): Promise<ContainerInspect | null>;
  /** Resolves once the stream is open. */
  subscribe(filters: EventFilters, handlers: EventHandlers): Promise<EventSubscription>;
}

export {
  type DockerConnection,
  type DockerTlsFiles,
  describeConnection,
  parseDockerEndpoint,
} from './docker-endpoint.js';

/** Requests other than the events stream give up after this long: a hung daemon must not stall resyncs. */
export const REQUEST_TIMEOUT_MS = 15_000;

/** dockerode's options for a connection; certificate files are read here, a read error throws. */
export function dockerodeOptions(connection: DockerConnection): Docker.DockerOptions {
  const options: Docker.DockerOptions =
    connection.kind === 'socket'
      ? { socketPath: connection.socketPath }
      : { host: connection.host, port: connection.port, protocol: connection.protocol };
  if (connection.kind === 'tcp' && connection.tls) {
    const { ca, cert, key } = connection.tls;
    if (ca) options.ca = readFileSync(ca);
    if (cert) options.cert = readFileSync(cert);
    if (key) options.key = readFileSync(key);
  }
  return options;
}

/** dockerode behind DockerClient. Certificate files are read here, once; a read error throws. */
export function dockerodeClient(
  connection: DockerConnection,
  read = dockerodeOptions(connection),
): DockerClient {
  const options = read;
  const requests = new Docker({ ...options, timeout: REQUEST_TIMEOUT_MS });
  // The events stream may be silent for hours: no timeout there (liveness is the provider's ping).
  const events = new Docker(options);
  return {
    endpoint: describeConnection(connection),
    async ping() {
      await requests.ping();
    },
    async listContainerIds({ all, label }) {
      const list = await requests.listContainers({
        all,
        ...(label === undefined ? {} : { filters: { label: [label] } }),
      });
      return list.map((c) => c.Id);
    },
    async inspectContainer(id) {
      try {
        return (await requests.getContainer(id).inspect()) as ContainerInspect;
      } catch (err) {
        if ((err as { statusCode?: unknown }).statusCode === 404) return null;
        throw err;
      }
    },
    async subscribe(filters, handlers) {
      const stream = (await events.getEvents({ filters })) as NodeJS.ReadableStream & {
        destroy?: () => void;
      };
      // A peer that vanished without a FIN (a host gone, a NAT entry dropped) is found by TCP itself.
      (
        stream as { socket?: { setKeepAlive?: (on: boolean, delayMs: number) => void } }
      ).socket?.setKeepAlive?.(true, 15_000);
      let ended = false;
      const end = (err: Error | null) => {
        if (ended) return;
        ended = true;
        handlers.onEnd(err);
      };
      // Messages are JSON objects, one per line; a chunk may hold several or half of one.
      let buffer = '';
      stream.on('data', (chunk: Buffer | string) => {
        buffer += chunk.toString();
        let newline = buffer.indexOf('\n');
        while (newline !== -1) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf('\n');
          if (line === '') continue;
          let event: DockerEvent;
          try {
            event = JSON.parse(line) as DockerEvent;
          } catch {
            continue; // not an event: nothing to act on, the next resync covers whatever it was
          }
          handlers.onEvent(event);
        }
        // A line this long is not an event; drop it rather than grow without bound.
        if (buffer.length > 1_000_000) buffer = '';
      });
      stream.on('error', (err: Error) => end(err));
      stream.on('end', () => end(null));
      stream.on('close', () => end(null));
      return {
        close() {
          ended = true;
          stream.destroy?.();
        },
      };
    },
  };
}
