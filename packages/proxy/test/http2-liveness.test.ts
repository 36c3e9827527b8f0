// An HTTP/2 client whose network is lost (no FIN, no RST) is found by PING: its connection, streams and upstream requests close.
import assert from 'node:assert/strict';
import { type ClientHttp2Session, type ClientHttp2Stream, connect as h2connect } from 'node:http2';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { EntryPoint, ResolvedCertificate } from '@berth/config';
import type { DataPlane } from '../src/data-plane.js';
import { entryPointSettings } from '../src/http/entry-point-settings.js';
import { waitFor } from './support/log-capture.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { eventStream, type StreamState, sseTlsBody } from './support/sse-over-tls.js';
import { makeTestCa, type TestCa } from './support/tls-pki.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

/**
 * A TCP relay between the client and the entry point, standing for the network: `cut()` loses it,
 * both ways, without a FIN or a reset to either side (bytes are read and dropped).
 */
class Relay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(target: number): Promise<Relay> {
    const server = createServer();
    const relay = new Relay(server);
    server.on('connection', (client) => relay.#relay(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.add(() => relay.close());
    return relay;
  }

  get port(): number {
    const address = this.#server.address();
    assert.ok(address !== null && typeof address === 'object');
    return address.port;
  }

  cut(): void {
    this.#cut = true;
  }

  #relay(client: Socket, target: number): void {
    const upstream = netConnect(target, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#sockets.add(from);
      from.on('error', () => {});
      from.on('data', (chunk: Buffer) => {
        if (!this.#cut) to.write(chunk);
      });
      // Until the cut, the network carries FINs and closes too.
      from.on('end', () => {
        if (!this.#cut) to.end();
      });
      from.on('close', () => {
        this.#sockets.delete(from);
        if (!this.#cut) to.destroy();
      });
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

interface Client {
  session: ClientHttp2Session;
  /** PING frames the client received (and answered). */
  pings: number;
  closed: boolean;
}

function connectThrough(relay: Relay): Client {
  const socket = tlsConnect({
    port: relay.port,
    host: '127.0.0.1',
    servername: 'app.test',
    ALPNProtocols: ['h2'],
    rejectUnauthorized: false,
  });
  const session = h2connect('https://app.test', { createConnection: () => socket });
  const client: Client = { session, pings: 0, closed: false };
  session.on('error', () => {});
  session.on('ping', () => client.pings++);
  session.once('close', () => {
    client.closed = true;
  });
  cleanups.add(async () => {
    session.destroy();
  });
  return client;
}

/** Starts the event stream and waits for its first event; `events` counts the chunks received. */
async function openStream(client: Client): Promise<{ stream: ClientHttp2Stream; events: () => number }> {
  const stream = client.session.request({ ':path': '/events', accept: 'text/event-stream' });
  stream.on('error', () => {});
  let events = 0;
  stream.on('data', () => events++);
  await waitFor(() => events > 0 || stream.closed, 'the first event');
  assert.equal(stream.closed, false, 'the stream closed before its first event');
  return { stream, events: () => events };
}

async function get(client: Client, path: string): Promise<string> {
  const stream = client.session.request({ ':path': path });
  stream.setEncoding('utf8');
  let text = '';
  for await (const chunk of stream) text += chunk;
  return text;
}

describe('HTTP/2 liveness by PING (entryPoints.*.http2.keepAlive)', () => {
  let ca: TestCa;
  let cert: ResolvedCertificate;
  before(() => {
    ca = makeTestCa();
    cert = ca.leaf(['app.test']);
  });
  after(() => ca.close());

  async function plane(
    entryPoint: Omit<EntryPoint, 'address'>,
  ): Promise<{ p: DataPlane; relay: Relay; state: StreamState }> {
    const state = { open: 0, closed: 0 };
    const backend = await backendFor(cleanups, 'sse', eventStream(state, 100));
    const p = planeFor(cleanups);
    const port = await applied(p, sseTlsBody(backend.url, cert, entryPoint));
    return { p, relay: await Relay.start(port), state };
  }

  it('reads http2.keepAlive into milliseconds: 30 s and 15 s unless set, interval 0 for off', () => {
    assert.deepEqual(entryPointSettings({ address: ':443' }).h2KeepAlive, {
      intervalMs: 30_000,
      timeoutMs: 15_000,
    });
    assert.deepEqual(
      entryPointSettings({ address: ':443', http2: { keepAlive: { interval: '1m', timeout: '250ms' } } })
        .h2KeepAlive,
      { intervalMs: 60_000, timeoutMs: 250 },
    );
    assert.deepEqual(
      entryPointSettings({ address: ':443', http2: { keepAlive: { interval: '0s' } } }).h2KeepAlive,
      { intervalMs: 0, timeoutMs: 15_000 },
    );
  });

  const fast = { http2: { keepAlive: { interval: '200ms', timeout: '300ms' } } };
  /** Where the client answers: a loaded machine may take its time, and that is not what is tested. */
  const patient = { http2: { keepAlive: { interval: '200ms', timeout: '10s' } } };

  it('closes a connection whose client no longer answers, with its streams and their upstream requests', async () => {
    const { p, relay, state } = await plane(fast);
    const before = p.metrics.openConnections();
    const client = connectThrough(relay);
    await openStream(client);
    assert.equal(state.open, 1);
    assert.equal(p.metrics.openConnections(), before + 1);
    relay.cut();
    await waitFor(() => state.closed === 1, 'the upstream request to be aborted');
    await waitFor(() => p.metrics.openConnections() === before, 'the open-connections gauge to return');
    // The client was never told: its network is gone.
    assert.equal(client.closed, false);
  });

  it('keeps a connection whose client answers, its stream flowing across many intervals', async () => {
    const { relay, state } = await plane(patient);
    const client = connectThrough(relay);
    const { stream, events } = await openStream(client);
    await waitFor(() => client.pings >= 4, 'four PINGs, each answered');
    const seen = events();
    await waitFor(() => events() > seen, 'more events after the PINGs');
    assert.equal(stream.closed, false);
    assert.equal(client.closed, false);
    assert.deepEqual(state, { open: 1, closed: 0 });
  });

  it('never pings a connection without open streams, and lets idleTimeout close it', async () => {
    const { relay } = await plane({ ...patient, transport: { respondingTimeouts: { idleTimeout: '1s' } } });
    const idle = connectThrough(relay);
    // It had a stream once: done, it must not be pinged any more.
    assert.equal(await get(idle, '/once'), 'ok\n');
    const busy = connectThrough(relay);
    await openStream(busy);
    await waitFor(() => busy.pings >= 3, 'the busy connection to be pinged three times');
    assert.equal(idle.pings, 0);
    await waitFor(() => idle.closed, 'the idle connection to close at idleTimeout');
    assert.equal(idle.pings, 0);
    assert.equal(busy.closed, false);
  });

  it('sends no PING when interval is 0', async () => {
    const { relay } = await plane({ http2: { keepAlive: { interval: '0s' } } });
    const client = connectThrough(relay);
    const { events } = await openStream(client);
    // Ten events are a second: five intervals of the other tests.
    await waitFor(() => events() > 10, 'ten more events');
    assert.equal(client.pings, 0);
    assert.equal(client.closed, false);
  });
});
