// Issue 11, done when 6: a single-node swarm, a labelled service of 3 replicas routed by a real proxy
// node, and a rolling update under a steady client loop that loses no request.
//
// How the node reaches the tasks: a Swarm overlay address is reachable only from inside the overlay,
// and the node here is a process on the host. The service therefore also publishes its port in host
// mode (each task gets its own port on the node, bound on loopback by this daemon's `--ip`), and the
// provider runs with `useBindPortIP`: each task's server is the node's address and the task's port.
// Traffic stays on loopback and reaches only the tasks this test created.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type ControllerHandle,
  decodeSwarm,
  dockerodeSwarmClient,
  SwarmProvider,
  type SwarmProviderSettings,
} from '@berth/controller';
import { type Cluster, eventually } from '../helpers/cluster.js';
import {
  BUSYBOX_IMAGE,
  engineUnavailable,
  ensureBusyboxImage,
  ensureSwarmEngine,
  removeSwarmTestObjects,
  type SwarmEngine,
} from '../helpers/docker-engine.js';
import { get } from '../helpers/http.js';
import { readLog, startProviderCluster } from '../helpers/provider-cluster.js';

const found = await ensureSwarmEngine();
const skip = found.ok ? false : engineUnavailable(found.reason);

/**
 * Each task writes its hostname and the service's generation into its page, serves it, and on
 * SIGTERM keeps serving for 2 s before it stops: the time the provider needs to take a task out of
 * the routes once Swarm starts stopping it (Docker's `kill` event), as any backend that drains does.
 */
const TASK_SCRIPT = [
  'echo "$(/bin/busybox hostname) $GEN" > /www/index.html',
  '/bin/busybox httpd -f -p 8080 -h /www & pid=$!',
  "trap '/bin/busybox sleep 2; kill $pid; exit 0' TERM",
  'wait $pid',
].join('\n');

describe('the Swarm provider on a real single-node swarm', { skip }, () => {
  const runId = randomBytes(4).toString('hex');
  const network = `berth-test-${runId}`;
  const serviceName = `berth-test-${runId}-web`;
  let engine: SwarmEngine;
  let cluster: Cluster;
  let provider: SwarmProvider;
  let controller: ControllerHandle;
  let port: number;
  let logFile: string;

  const settings: SwarmProviderSettings = {
    endpoint: found.ok ? found.engine.endpoint : '',
    exposedByDefault: false,
    // Only this run's services, whatever else the swarm runs.
    constraints: `Label(\`berth-test\`, \`${runId}\`)`,
    defaultRule: 'Host(`{{ normalize .Name }}`)',
    network: '',
    useBindPortIP: true,
    allowEmptyServices: false,
    prefixes: ['traefik', 'berth'],
    refreshSeconds: 15,
  };

  before(async () => {
    if (!found.ok) return;
    engine = found.engine;
    await ensureBusyboxImage(engine.docker);
    await engine.docker.createNetwork({
      Name: network,
      Driver: 'overlay',
      Attachable: true,
      Labels: { 'berth-test': runId },
    });
    ({ cluster, provider, controller, port, logFile } = await startProviderCluster(
      (logger) =>
        new SwarmProvider({
          settings,
          decode: decodeSwarm,
          client: dockerodeSwarmClient({ kind: 'socket', socketPath: engine.socketPath }),
          logger,
          reconnectMinMs: 100,
          reconnectMaxMs: 1000,
          pingMs: 1000,
        }),
    ));
  });

  after(async () => {
    if (!found.ok) return;
    await removeSwarmTestObjects(engine.docker, runId).catch(() => {});
    await controller?.close();
    await cluster?.close();
    await engine.release();
  });

  const logs = () => {
    const controllerLog = readLog(logFile);
    return `${cluster.logs()}\n----- controller\n${controllerLog.slice(-6000)}\n----- provider ${JSON.stringify(provider.status())}\n----- parts ${JSON.stringify(provider.current()).slice(0, 4000)}`;
  };

  // Each published server asked without the node in between: tells a backend (or docker-proxy)
  // problem from a routing one in a failure message.
  const askServersDirectly = async (): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    const urls = provider
      .current()
      .flatMap((p) => Object.values(p.config.http.services).flatMap((s) => s.loadBalancer?.servers ?? []))
      .map((s) => s.url);
    for (const url of urls) {
      const { port: serverPort } = new URL(url);
      try {
        const res = await get(Number(serverPort), 'swarm.test', '/', 3000);
        out[url] = `${res.status} ${res.body.trim()}`;
      } catch (err) {
        out[url] = (err as Error).message;
      }
    }
    return out;
  };

  const body = async (host: string) => {
    const res = await get(port, host);
    return res.status === 200 ? res.body.trim() : `status ${res.status} ${res.body.trim().slice(0, 80)}`;
  };

  it('routes a labelled service of 3 replicas round robin over its tasks', async () => {
    await engine.docker.createService({
      Name: serviceName,
      Labels: {
        'berth-test': runId,
        'traefik.enable': 'true',
        'traefik.http.routers.web.rule': 'Host(`swarm.test`)',
        'traefik.http.services.web.loadbalancer.server.port': '8080',
      },
      TaskTemplate: {
        ContainerSpec: {
          Image: BUSYBOX_IMAGE,
          Labels: { 'berth-test': runId },
          Command: ['/bin/sh', '-c', TASK_SCRIPT],
          Env: ['GEN=1'],
          StopGracePeriod: 10_000_000_000,
          // Swarm reports a task running only once this passes: no traffic before httpd listens.
          HealthCheck: {
            Test: ['CMD', '/bin/busybox', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'],
            // Lenient: on a loaded machine a `docker exec` can take seconds, and a task wrongly found
            // unhealthy is replaced mid-test.
            Interval: 250_000_000,
            Timeout: 5_000_000_000,
            Retries: 10,
          },
        },
        Networks: [{ Target: network }],
      },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: { Parallelism: 1, Delay: 500_000_000, Order: 'start-first', FailureAction: 'pause' },
      EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishMode: 'host' }] },
    } as object);
    await eventually(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) seen.add(await body('swarm.test'));
        return seen.size === 3 && [...seen].every((b) => b.endsWith(' 1'));
      },
      60_000,
      logs,
    );
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const who = await body('swarm.test');
      counts.set(who, (counts.get(who) ?? 0) + 1);
    }
    assert.deepEqual(
      [...counts.values()],
      [10, 10, 10],
      `30 requests over 3 tasks: ${JSON.stringify(Object.fromEntries(counts))}`,
    );
    const servers = provider
      .current()
      .flatMap((p) => Object.values(p.config.http.services).flatMap((s) => s.loadBalancer?.servers ?? []));
    assert.equal(servers.length, 3);
    for (const s of servers) assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('loses no request of a steady client loop during a rolling update', async (t) => {
    let sent = 0;
    let failed = 0;
    const failures: string[] = [];
    // What the provider published when, next to each failure: the story of a failed request.
    const started = Date.now();
    const history: string[] = [];
    const unsubscribe = provider.onChange((parts) => {
      const urls = parts.flatMap((p) =>
        Object.values(p.config.http.services)
          .flatMap((s) => s.loadBalancer?.servers ?? [])
          .map((x) => x.url),
      );
      history.push(`${Date.now() - started} ms: ${urls.join(' ')}`);
    });
    const bodies = new Set<string>();
    let stop = false;
    // Two clients, one request each at a time, until told to stop (and never past 3 minutes).
    const loopDeadline = Date.now() + 180_000;
    const client = async () => {
      while (!stop && Date.now() < loopDeadline) {
        sent++;
        try {
          const res = await get(port, 'swarm.test', '/', 5000);
          if (res.status === 200) bodies.add(res.body.trim());
          else {
            failed++;
            failures.push(`${Date.now() - started} ms: status ${res.status}`);
          }
        } catch (err) {
          failed++;
          failures.push(`${Date.now() - started} ms: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const clients = [client(), client()];
    try {
      const service = engine.docker.getService(serviceName);
      const info = (await service.inspect()) as {
        Version: { Index: number };
        Spec: { TaskTemplate: { ContainerSpec: { Env: string[] }; ForceUpdate?: number } };
      };
      const spec = info.Spec;
      spec.TaskTemplate.ContainerSpec.Env = ['GEN=2'];
      spec.TaskTemplate.ForceUpdate = (spec.TaskTemplate.ForceUpdate ?? 0) + 1;
      await service.update({ version: info.Version.Index, ...spec });
      await eventually(
        async () => {
          const now = (await service.inspect()) as { UpdateStatus?: { State?: string } };
          return now.UpdateStatus?.State === 'completed';
        },
        150_000,
        logs,
      );
      // Every task of the new generation serves, and the old ones are gone from the routes.
      let lastSeen: string[] = [];
      await eventually(
        async () => {
          const seen = new Set<string>();
          for (let i = 0; i < 6; i++) seen.add(await body('swarm.test'));
          lastSeen = [...seen];
          return seen.size === 3 && lastSeen.every((b) => b.endsWith(' 2'));
        },
        60_000,
        async () =>
          `last 6 answers through the node: ${JSON.stringify(lastSeen)}\n` +
          `each server asked directly: ${JSON.stringify(await askServersDirectly())}\n` +
          `published:\n${history.join('\n')}\n${logs()}`,
      );
      // The old tasks' 2 s of draining are over: requests keep going to the new ones only.
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      stop = true;
      await Promise.all(clients);
      unsubscribe();
    }
    // Swarm's own account of the tasks, for a failure message.
    const tasks = (
      (await engine.docker.listTasks({ filters: { service: [serviceName] } })) as {
        Slot?: number;
        DesiredState?: string;
        Status?: { State?: string; Err?: string; Timestamp?: string };
      }[]
    ).map(
      (x) => `${x.Slot} ${x.DesiredState} ${x.Status?.State} ${x.Status?.Timestamp} ${x.Status?.Err ?? ''}`,
    );
    const old = [...bodies].filter((b) => b.endsWith(' 1')).length;
    const fresh = [...bodies].filter((b) => b.endsWith(' 2')).length;
    t.diagnostic(
      `rolling update: ${sent} requests sent, ${failed} failed; answered by ${old} old and ${fresh} new tasks`,
    );
    assert.equal(
      failed,
      0,
      `failed requests: ${failures.slice(0, 10).join('; ')}\npublished:\n${history.join('\n')}\ntasks (started at ${new Date(started).toISOString()}):\n${tasks.join('\n')}\n${logs()}`,
    );
    assert.ok(sent > 100, `the loop ran through the update (${sent} requests)`);
    assert.equal(old, 3, 'the 3 old tasks answered');
    assert.equal(fresh, 3, 'the 3 new tasks answered');
  });

  it('with traefik.swarm.lbswarm, routes to the service VIP instead of its tasks', async () => {
    const vipService = `berth-test-${runId}-vip`;
    await engine.docker.createService({
      Name: vipService,
      Labels: {
        'berth-test': runId,
        'traefik.enable': 'true',
        'traefik.swarm.lbswarm': 'true',
        'traefik.swarm.network': network,
        'traefik.http.routers.vip.rule': 'Host(`vip.test`)',
        'traefik.http.services.vip.loadbalancer.server.port': '8080',
      },
      TaskTemplate: {
        ContainerSpec: {
          Image: BUSYBOX_IMAGE,
          Labels: { 'berth-test': runId },
          Command: ['/bin/sh', '-c', TASK_SCRIPT],
          Env: ['GEN=vip'],
        },
        Networks: [{ Target: network }],
      },
      Mode: { Replicated: { Replicas: 1 } },
    } as object);
    const net = (await engine.docker.getNetwork(network).inspect()) as { Id: string };
    // Swarm allocates the VIP a moment after the service is created.
    const vip = await eventually(
      async () => {
        const inspected = (await engine.docker.getService(vipService).inspect()) as {
          Endpoint?: { VirtualIPs?: { NetworkID?: string; Addr?: string }[] };
        };
        return inspected.Endpoint?.VirtualIPs?.find((v) => v.NetworkID === net.Id)?.Addr?.split('/')[0];
      },
      30_000,
      logs,
    );
    // The overlay VIP is reachable from inside the overlay only: checked in the routes, no traffic sent.
    const urls = await eventually(
      () => {
        const urls = provider
          .current()
          .flatMap((p) => p.config.http.services['vip']?.loadBalancer?.servers ?? [])
          .map((s) => s.url);
        return urls.length > 0 ? urls : null;
      },
      30_000,
      logs,
    );
    assert.deepEqual(urls, [`http://${vip}:8080`]);
    const routes = (await (await fetch(`${controller.apiUrl}/api/v1/status`)).json()) as {
      swarm?: { state: string };
    };
    assert.equal(routes.swarm?.state, 'connected');
  });
});
