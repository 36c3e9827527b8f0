// An HTTP/2 client that vanishes (socket destroyed, streams never closed): its streams, their upstream requests and its connection end at once.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { ResolvedCertificate } from '@berth/config';
import type { DataPlane } from '../src/data-plane.js';
import { waitFor } from './support/log-capture.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { eventStream, sseTlsBody } from './support/sse-over-tls.js';
import { makeTestCa, type TestCa } from './support/tls-pki.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

/** Opens an HTTP/2 connection, starts the event stream, waits for its first event; returns the TLS socket and the TCP one under it. */
async function openStream(port: number): Promise<{ socket: TLSSocket; tcp: Socket }> {
  const tcp = netConnect(port, '127.0.0.1');
  const socket = tlsConnect({
    socket: tcp,
    servername: 'app.test',
    ALPNProtocols: ['h2'],
    rejectUnauthorized: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  assert.equal(socket.alpnProtocol, 'h2');
  const session = h2connect('https://app.test', { createConnection: () => socket });
  session.on('error', () => {});
  const stream = session.request({ ':path': '/events', accept: 'text/event-stream' });
  stream.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    stream.once('data', () => resolve());
    stream.once('close', () => reject(new Error('stream closed before its first event')));
  });
  return { socket, tcp };
}

describe('an HTTP/2 client that vanishes', () => {
  let ca: TestCa;
  let cert: ResolvedCertificate;
  before(() => {
    ca = makeTestCa();
    cert = ca.leaf(['app.test']);
  });
  after(() => ca.close());

  async function plane(
    graceTimeOut: string,
  ): Promise<{ p: DataPlane; port: number; state: { open: number; closed: number } }> {
    const state = { open: 0, closed: 0 };
    const backend = await backendFor(cleanups, 'sse', eventStream(state, 1000));
    const p = planeFor(cleanups, { closeDrainMs: undefined });
    const port = await applied(
      p,
      sseTlsBody(backend.url, cert, { transport: { lifeCycle: { graceTimeOut } } }),
    );
    return { p, port, state };
  }

  it('aborts its streams and their upstream requests at once', async () => {
    const { port, state } = await plane('10s');
    const { socket } = await openStream(port);
    assert.equal(state.open, 1);
    socket.destroy();
    await waitFor(() => state.closed === 1, 'the upstream request to close', 5_000);
  });

  it('does the same when the connection is reset rather than closed', async () => {
    const { port, state } = await plane('10s');
    const { tcp } = await openStream(port);
    // A TLS socket cannot send a reset; the TCP socket under it can.
    tcp.resetAndDestroy();
    await waitFor(() => state.closed === 1, 'the upstream request to close', 5_000);
  });

  it('leaves berth_open_connections where it was after 200 such drops', async () => {
    const { p, port, state } = await plane('10s');
    const before = p.metrics.openConnections();
    for (let i = 0; i < 200; i++) (await openStream(port)).socket.destroy();
    await waitFor(() => state.closed === 200, 'every upstream request to close', 10_000);
    await waitFor(() => p.metrics.openConnections() === before, 'the gauge to return to its value', 5_000);
  });

  it('does not hold up close() for the grace time', async () => {
    const { p, port, state } = await plane('60s');
    for (let i = 0; i < 5; i++) (await openStream(port)).socket.destroy();
    await waitFor(() => state.closed === 5, 'every upstream request to close', 5_000);
    const closed = p.close().then(() => 'closed' as const);
    const bound = new Promise<'late'>((resolve) => setTimeout(resolve, 20_000, 'late').unref());
    assert.equal(await Promise.race([closed, bound]), 'closed');
  });
});
