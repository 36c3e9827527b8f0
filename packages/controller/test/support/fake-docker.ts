// An in-memory Docker for provider tests: containers as inspect answers, an events stream a test drives, calls recorded.
import type {
  DockerClient,
  DockerEvent,
  EventFilters,
  EventHandlers,
  EventSubscription,
} from '../../src/provider/docker/docker-client.js';
import type { ContainerInspect } from '../../src/provider/docker/inspect-facts.js';

export class FakeDocker implements DockerClient {
  readonly endpoint = 'unix:///fake/docker.sock';
  readonly containers = new Map<string, ContainerInspect>();
  /** Every call, in order: `list:<label>`, `inspect:<id>`, `subscribe`, `ping`. */
  readonly calls: string[] = [];
  /** While set, every call fails with it (Docker down). */
  down: Error | null = null;
  filters: EventFilters | null = null;
  #stream: EventHandlers | null = null;

  async ping(): Promise<void> {
    this.calls.push('ping');
    if (this.down) throw this.down;
  }

  async listContainerIds({ all, label }: { all: boolean; label?: string }): Promise<string[]> {
    this.calls.push(`list:${label ?? ''}`);
    if (this.down) throw this.down;
    return [...this.containers.values()]
      .filter((c) => all || c.State?.Status === 'running')
      .filter((c) => label === undefined || Object.hasOwn(c.Config?.Labels ?? {}, label))
      .map((c) => c.Id ?? '');
  }

  async inspectContainer(id: string): Promise<ContainerInspect | null> {
    this.calls.push(`inspect:${id}`);
    if (this.down) throw this.down;
    const found = this.containers.get(id);
    return found === undefined ? null : structuredClone(found);
  }

  async subscribe(filters: EventFilters, handlers: EventHandlers): Promise<EventSubscription> {
    this.calls.push('subscribe');
    if (this.down) throw this.down;
    this.filters = filters;
    this.#stream = handlers;
    return {
      close: () => {
        if (this.#stream === handlers) this.#stream = null;
      },
    };
  }

  get streaming(): boolean {
    return this.#stream !== null;
  }

  emit(event: DockerEvent): void {
    this.#stream?.onEvent(event);
  }

  /** A container event as dockerd sends it: the container's labels ride along as attributes. */
  emitContainer(id: string, action: string): void {
    const c = this.containers.get(id);
    this.emit({
      Type: 'container',
      Action: action,
      Actor: { ID: id, Attributes: { ...(c?.Config?.Labels ?? {}), name: (c?.Name ?? '').slice(1) } },
    });
  }

  /** The stream ends, as when dockerd stops. */
  drop(err: Error | null = null): void {
    const stream = this.#stream;
    this.#stream = null;
    stream?.onEnd(err);
  }

  add(c: ContainerInspect): void {
    if (c.Id) this.containers.set(c.Id, c);
  }

  count(prefix: string): number {
    return this.calls.filter((c) => c.startsWith(prefix)).length;
  }
}

/** A running container on network `net` with `labels` (an enable label unless given otherwise). */
export function container(
  id: string,
  labels: Record<string, string> = { 'traefik.enable': 'true' },
  ip = '10.0.0.2',
): ContainerInspect {
  return {
    Id: id,
    Name: `/${id}`,
    State: { Status: 'running' },
    HostConfig: { NetworkMode: 'net' },
    Config: { Labels: labels, ExposedPorts: { '80/tcp': {} } },
    NetworkSettings: { Networks: { net: { IPAddress: ip, GlobalIPv6Address: '' } }, Ports: {} },
  };
}
