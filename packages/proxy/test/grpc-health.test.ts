// gRPC health checks (grpc.health.v1.Health/Check) against a tiny gRPC server written with node:http2, and the response decoder.
import assert from 'node:assert/strict';
import { createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { readServingStatus } from '../src/health/grpc-probe.js';
import { HealthRegistry } from '../src/health/health-registry.js';
import type { ServerTarget } from '../src/runtime/types.js';
import { call } from './support/client.js';
import { healthBody } from './support/health-body.js';
import { captureLog, waitFor } from './support/log-capture.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { body } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

/** A HealthCheckResponse with `status` in gRPC's length-prefixed framing (protobuf by hand: field 1, varint). */
function frame(status: number): Buffer {
  const message = status === 0 ? Buffer.alloc(0) : Buffer.from([0x08, status]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

interface GrpcServer {
  port: number;
  /** 1 SERVING, 2 NOT_SERVING; null: answer UNIMPLEMENTED (no health service). */
  state: { status: number | null; paths: string[] };
}

async function grpcHealthServer(): Promise<GrpcServer> {
  const state: GrpcServer['state'] = { status: 1, paths: [] };
  const server: Http2Server = createServer();
  server.on('stream', (stream, headers) => {
    state.paths.push(String(headers[':path']));
    stream.resume();
    stream.on('end', () => {
      if (state.status === null) {
        // Trailers-only: the status travels in the headers.
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' },
          {
            endStream: true,
          },
        );
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frame(state.status));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.add(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Sessions close when the probes end them; none is kept open.
      }),
  );
  return { port: (server.address() as AddressInfo).port, state };
}

const target = (url: string): ServerTarget => {
  const u = new URL(url);
  return { url: u, origin: u.origin, weight: 1 };
};

describe('gRPC health response', () => {
  it('reads the serving status of a HealthCheckResponse, skipping other fields', () => {
    assert.equal(readServingStatus(frame(1)), 1);
    assert.equal(readServingStatus(frame(2)), 2);
    assert.equal(readServingStatus(frame(0)), 0, 'an empty message is UNKNOWN');
    const extra = Buffer.from([0, 0, 0, 0, 6, 0x12, 0x02, 0x68, 0x69, 0x08, 0x01]);
    assert.equal(readServingStatus(extra), 1);
    assert.equal(readServingStatus(Buffer.from([0, 0, 0, 0, 9, 0x08])), null, 'truncated');
    assert.equal(readServingStatus(Buffer.from([1, 0, 0, 0, 0])), null, 'compressed');
  });
});

describe('healthCheck mode grpc', () => {
  it('marks a server down when it answers NOT_SERVING or lacks the health service, up when SERVING', async () => {
    const g = await grpcHealthServer();
    const url = `http://127.0.0.1:${g.port}`;
    const { logger, lines } = captureLog();
    const registry = new HealthRegistry({ logger });
    cleanups.add(() => registry.close());
    registry.update(
      healthBody({
        api: { servers: [url], healthCheck: { mode: 'grpc', interval: '50ms', timeout: '500ms' } },
      }),
    );
    await waitFor(() => g.state.paths.length >= 2, 'two probes');
    assert.deepEqual([...new Set(g.state.paths)], ['/grpc.health.v1.Health/Check']);
    assert.equal(registry.isAvailable('api', target(url)), true);
    g.state.status = 2;
    await waitFor(() => !registry.isAvailable('api', target(url)), 'NOT_SERVING to take it out');
    assert.ok(lines.some((l) => l['probe'] === 'gRPC NOT_SERVING'));
    g.state.status = 1;
    await waitFor(() => registry.isAvailable('api', target(url)), 'SERVING to bring it back');
    g.state.status = null;
    await waitFor(() => !registry.isAvailable('api', target(url)), 'UNIMPLEMENTED to take it out');
    assert.ok(lines.some((l) => l['probe'] === 'grpc-status 12'));
  });

  it("probes an h2c:// server (Traefik's gRPC servers) at its plain-text address", async () => {
    const g = await grpcHealthServer();
    const url = `h2c://127.0.0.1:${g.port}`;
    const registry = new HealthRegistry({ logger: captureLog().logger });
    cleanups.add(() => registry.close());
    registry.update(
      healthBody({
        api: { servers: [url], healthCheck: { mode: 'grpc', interval: '50ms', timeout: '500ms' } },
      }),
    );
    await waitFor(() => g.state.paths.length >= 1, 'a probe');
    const server: ServerTarget = { url: new URL(url), origin: `h2c://127.0.0.1:${g.port}`, weight: 1 };
    g.state.status = 2;
    await waitFor(() => !registry.isAvailable('api', server), 'NOT_SERVING to take it out');
  });

  it('steers traffic through a data plane away from a server whose gRPC health says NOT_SERVING', async () => {
    const g = await grpcHealthServer();
    // The traffic goes to plain HTTP backends; the checks go to the gRPC port (healthCheck.port).
    const one = await backendFor(cleanups, 'one');
    const two = await backendFor(cleanups, 'two');
    const hc = { mode: 'grpc' as const, scheme: 'h2c', port: g.port, interval: '50ms', timeout: '500ms' };
    const port = await applied(
      planeFor(cleanups),
      body(
        { web: { rule: 'Host(`app.test`)', service: 'app' } },
        {
          app: {
            failover: { service: 'checked', fallback: 'plain' },
          },
          checked: { loadBalancer: { servers: [{ url: one.url }], healthCheck: hc } },
          plain: { loadBalancer: { servers: [{ url: two.url }] } },
        },
      ),
    );
    assert.equal((await call(port, { host: 'app.test' })).body, 'one');
    g.state.status = 2;
    const deadline = Date.now() + 10_000;
    let seen = '';
    while (seen !== 'two' && Date.now() < deadline) {
      seen = (await call(port, { host: 'app.test' })).body;
      if (seen !== 'two') await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(seen, 'two');
  });
});
