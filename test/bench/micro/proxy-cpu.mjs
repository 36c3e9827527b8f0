// CPU per keep-alive request of a Berth data plane in a child process, against an nginx backend, with wrk.
// Usage: node test/bench/micro/proxy-cpu.mjs [--rounds 3] [--duration 5] [--connections 50] [--prof DIR]
//   [--dist packages/proxy/dist --dist packages/proxy/dist/base ...]: A/B builds of @berth/proxy,
//   measured in turn within each round (a copy of an older dist inside packages/proxy/dist resolves
//   its dependencies like the real one).
//   [--baseline test/bench/targets/baselines/node-undici-dispatch.mjs ...]: reference points measured
//   the same way (CPU from /proc/<pid>/stat, requests from wrk).
// Needs a build (npx tsc -b), nginx and wrk. The proxy child is pinned to CPU 0, nginx and wrk to CPU 1.
// The figure is the proxy process's own process.cpuUsage() delta divided by the requests it served,
// which is far less sensitive to other load on the machine than req/s. BERTH_FAST_PATH passes through.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    prof: { type: 'string' },
    child: { type: 'boolean', default: false },
    backend: { type: 'string' },
    dist: { type: 'string', multiple: true },
    middleware: { type: 'string' },
    baseline: { type: 'string', multiple: true },
  },
});

if (opts.child) await child(opts.backend, opts.dist?.[0] ?? 'packages/proxy/dist');
else await parent();

/** The proxy: a DataPlane with one host route to the backend; answers `cpu` messages with usage and count. */
async function child(backend, dist) {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const { DataPlane } = await import(join(root, dist, 'src/data-plane.js'));
  const { SNAPSHOT_SCHEMA } = await import(join(root, 'packages/protocol/dist/src/index.js'));
  const { pino } = await import(join(root, 'packages/proxy/node_modules/pino/pino.js')).catch(
    () => import('pino'),
  );
  let served = 0;
  const plane = new DataPlane({
    logger: pino({ level: 'silent' }),
    entryPointOverrides: { web: '127.0.0.1:0' },
    closeDrainMs: 100,
    onRequestEnd: () => {
      served++;
    },
  });
  const routers = {};
  const services = {};
  const middlewares = {};
  // `--middleware headers`: every router adds a response header, so responses take the middleware path.
  if (opts.middleware === 'headers')
    middlewares.h = { headers: { customResponseHeaders: { 'x-bench': '1' } } };
  if (opts.middleware === 'request-headers')
    middlewares.h = { headers: { customRequestHeaders: { 'x-bench': '1' } } };
  for (let i = 0; i < 10; i++) {
    routers[`r${i}`] = {
      rule: `Host(\`r${i}.bench.test\`)`,
      service: `s${i}`,
      ...(opts.middleware ? { middlewares: ['h'] } : {}),
    };
    services[`s${i}`] = { loadBalancer: { servers: [{ url: backend }] } };
  }
  const result = await plane.apply({
    schema: SNAPSHOT_SCHEMA,
    entryPoints: { web: { address: ':80' } },
    http: { routers, services, middlewares },
  });
  if (!result.ok) throw new Error(result.error);
  process.on('message', async (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send({ cpu: u.user + u.system, user: u.user, served });
    } else if (m === 'stop') {
      await plane.close();
      process.exit(0);
    }
  });
  process.send({ address: result.listeners[0].address });
}

/** µs of CPU of a process (all threads) from /proc/<pid>/stat; user alone too. */
function procCpu(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const tick = 1e6 / 100;
  return { cpu: (Number(f[11]) + Number(f[12])) * tick, user: Number(f[11]) * tick };
}

/** A reference-point script on CPU 0: `node <script> <port> <backend origin>`. */
function startBaseline(script, backendPort) {
  const ready = freePort().then(async (port) => {
    proc.spawnArgs = port;
    return `127.0.0.1:${port}`;
  });
  const proc = { pid: 0 };
  const entry = { proc, dist: script, results: [], user: [], address: '', baseline: true };
  entry.usage = async () => procCpu(entry.proc.pid);
  entry.ready = ready.then(async (address) => {
    const port = address.split(':')[1];
    const child = spawn(
      'taskset',
      ['-c', '0', process.execPath, script, port, `http://127.0.0.1:${backendPort}`],
      {
        stdio: 'inherit',
      },
    );
    entry.proc = child;
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const ok = await new Promise((r) => {
        const s = connectTcp(Number(port), '127.0.0.1', () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (ok) return address;
    }
    throw new Error(`${script} did not listen`);
  });
  return entry;
}

/** A proxy child on CPU 0 with a queue of its IPC replies. */
function startProxy(nodeArgs, backendPort, spec) {
  // `dist` or `dist@--a-node-flag`: the same build under different V8 flags.
  const [dist, ...flags] = spec.split('@');
  const proc = spawn(
    'taskset',
    [
      '-c',
      '0',
      process.execPath,
      ...nodeArgs,
      ...flags,
      fileURLToPath(import.meta.url),
      '--child',
      '--backend',
      `http://127.0.0.1:${backendPort}`,
      '--dist',
      dist,
      ...(opts.middleware ? ['--middleware', opts.middleware] : []),
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const replies = [];
  let wake;
  proc.on('message', (m) => {
    replies.push(m);
    wake?.();
  });
  const next = async () => {
    while (replies.length === 0) await new Promise((r) => (wake = r));
    return replies.shift();
  };
  const usage = () => {
    proc.send('cpu');
    return next();
  };
  return { proc, next, usage, dist: spec, results: [], user: [], address: '' };
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      out += d;
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${code}: ${out}`))));
  });
}

async function parent() {
  const dir = mkdtempSync(join(tmpdir(), 'berth-proxy-cpu-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;\ndaemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 4096; }\nhttp {\n  access_log off;\n  client_body_temp_path ${dir}/cb;\n  proxy_temp_path ${dir}/pt;\n  fastcgi_temp_path ${dir}/ft;\n  uwsgi_temp_path ${dir}/ut;\n  scgi_temp_path ${dir}/st;\n  keepalive_requests 100000000;\n  keepalive_timeout 300s;\n  server {\n    listen 127.0.0.1:${port};\n    default_type text/plain;\n    location / { return 200 "ok"; }\n  }\n}\n`,
  );
  const nginx = spawn('taskset', ['-c', '1', 'nginx', '-p', dir, '-c', conf, '-e', `${dir}/error.log`], {
    stdio: 'ignore',
  });
  const nodeArgs = opts.prof ? ['--cpu-prof', '--cpu-prof-dir', opts.prof] : [];
  const dists = opts.dist ?? ['packages/proxy/dist'];
  const proxies = [
    ...(opts.dist || !opts.baseline ? dists : []).map((dist) => startProxy(nodeArgs, port, dist)),
    ...(opts.baseline ?? []).map((script) => startBaseline(script, port)),
  ];
  try {
    for (const p of proxies) p.address = p.baseline ? await p.ready : (await p.next()).address;
    await new Promise((r) => setTimeout(r, 300));
    const wrk = (url, seconds) =>
      run('taskset', [
        '-c',
        '1',
        'wrk',
        '--latency',
        '-t1',
        `-c${opts.connections}`,
        `-d${seconds}s`,
        '-H',
        'Host: r3.bench.test',
        url,
      ]);
    // Warm-up: JIT and pools.
    for (const p of proxies) await wrk(`http://${p.address}/`, 2);
    for (let i = 0; i < Number(opts.rounds); i++) {
      for (const p of proxies) {
        const a = await p.usage();
        const out = await wrk(`http://${p.address}/`, opts.duration);
        const b = await p.usage();
        const n = p.baseline ? Number(/(\d+) requests in/.exec(out)?.[1]) : b.served - a.served;
        const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
        const p99 = /\s99%\s+(\S+)/.exec(out)?.[1];
        const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
        const us = (b.cpu - a.cpu) / n;
        const user = (b.user - a.user) / n;
        p.results.push(us);
        p.user.push(user);
        console.log(
          `round ${i + 1} ${p.dist}: ${us.toFixed(2)} µs CPU/request (user ${user.toFixed(2)}), ${n} requests, ${rps} req/s, p99 ${p99}${non2xx ? `, NON-2xx ${non2xx}` : ''}`,
        );
      }
    }
    for (const p of proxies) {
      const r = [...p.results].sort((x, y) => x - y);
      const u = [...p.user].sort((x, y) => x - y);
      console.log(
        `${p.dist}: median ${r[Math.floor(r.length / 2)].toFixed(2)} µs, min ${r[0].toFixed(2)} µs; user median ${u[Math.floor(u.length / 2)].toFixed(2)} µs, min ${u[0].toFixed(2)} µs`,
      );
    }
    if (proxies.length === 2) {
      // Paired rounds cancel the slow swings of other load on the machine.
      const [a, b] = proxies;
      const ratios = a.results.map((x, i) => b.results[i] / x).sort((x, y) => x - y);
      const users = a.user.map((x, i) => b.user[i] / x).sort((x, y) => x - y);
      const mid = Math.floor(ratios.length / 2);
      console.log(
        `${b.dist} / ${a.dist}, per round: median ${ratios[mid].toFixed(3)} (user CPU alone ${users[mid].toFixed(3)})`,
      );
    }
  } finally {
    for (const p of proxies) {
      if (p.baseline) p.proc.kill('SIGTERM');
      else p.proc.send('stop');
      await new Promise((r) => p.proc.once('exit', r));
    }
    nginx.kill('SIGQUIT');
    await new Promise((r) => nginx.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
