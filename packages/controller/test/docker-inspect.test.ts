// Container facts from Docker's inspect answers, and Docker endpoints from settings and the environment.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDockerEndpoint } from '../src/provider/docker/docker-client.js';
import { factsFromInspect } from '../src/provider/docker/inspect-facts.js';

describe('factsFromInspect', () => {
  it('reads a Compose container with a health check, two networks and a published port', () => {
    const facts = factsFromInspect({
      Id: 'abc123',
      Name: '/shop-web-1',
      State: { Status: 'running', Health: { Status: 'starting' } },
      HostConfig: { NetworkMode: 'shop_default' },
      Config: {
        Labels: {
          'traefik.enable': 'true',
          'com.docker.compose.project': 'shop',
          'com.docker.compose.service': 'web',
        },
        ExposedPorts: { '8080/tcp': {}, '53/udp': {}, '9000-9001/tcp': {} },
      },
      NetworkSettings: {
        Ports: {
          '8080/tcp': [
            { HostIp: '0.0.0.0', HostPort: '18080' },
            { HostIp: '::', HostPort: '18080' },
          ],
          '443/tcp': null,
          '53/udp': [],
        },
        Networks: {
          zeta: { IPAddress: '172.20.0.3', GlobalIPv6Address: 'fd00::3' },
          shop_default: { IPAddress: '172.19.0.2', GlobalIPv6Address: '' },
        },
      },
    });
    assert.deepEqual(facts, {
      id: 'abc123',
      name: 'shop-web-1',
      labels: {
        'traefik.enable': 'true',
        'com.docker.compose.project': 'shop',
        'com.docker.compose.service': 'web',
      },
      state: 'running',
      health: 'starting',
      networkMode: 'shop_default',
      networks: [
        { name: 'shop_default', ipv4: '172.19.0.2', ipv6: '' },
        { name: 'zeta', ipv4: '172.20.0.3', ipv6: 'fd00::3' },
      ],
      exposedPorts: [
        { port: 53, protocol: 'udp' },
        { port: 443, protocol: 'tcp' },
        { port: 8080, protocol: 'tcp' },
      ],
      publishedPorts: [
        { containerPort: 8080, hostIp: '0.0.0.0', hostPort: 18080, protocol: 'tcp' },
        { containerPort: 8080, hostIp: '::', hostPort: 18080, protocol: 'tcp' },
      ],
      compose: { project: 'shop', service: 'web' },
    });
  });

  it('reads a host-network Swarm task without a health check', () => {
    const facts = factsFromInspect({
      Id: 'def',
      Name: '/stack_api.1.xyz',
      State: { Status: 'running' },
      HostConfig: { NetworkMode: 'host' },
      Config: {
        Labels: { 'com.docker.swarm.service.name': 'stack_api', 'com.docker.stack.namespace': 'stack' },
      },
      NetworkSettings: { Networks: { host: { IPAddress: '' } } },
    });
    assert.equal(facts.health, null);
    assert.equal(facts.networkMode, 'host');
    assert.deepEqual(facts.networks, [{ name: 'host', ipv4: '', ipv6: '' }]);
    assert.deepEqual(facts.swarm, { serviceName: 'stack_api', stack: 'stack' });
    assert.equal(facts.compose, undefined);
  });

  it('never throws on a sparse answer', () => {
    const facts = factsFromInspect({
      Id: 'x',
      Config: null,
      NetworkSettings: { Networks: null, Ports: null },
    });
    assert.deepEqual(facts, {
      id: 'x',
      name: '',
      labels: {},
      state: 'unknown',
      health: null,
      networkMode: '',
      networks: [],
      exposedPorts: [],
      publishedPorts: [],
    });
  });
});

describe('parseDockerEndpoint', () => {
  it('takes a unix socket', () => {
    assert.deepEqual(parseDockerEndpoint('unix:///var/run/docker.sock', null), {
      ok: true,
      connection: { kind: 'socket', socketPath: '/var/run/docker.sock' },
    });
  });

  it('speaks plain HTTP to tcp:// without certificates (a socket proxy)', () => {
    assert.deepEqual(parseDockerEndpoint('tcp://socket-proxy:2375', null), {
      ok: true,
      connection: { kind: 'tcp', host: 'socket-proxy', port: 2375, protocol: 'http' },
    });
  });

  it('speaks TLS to tcp:// with DOCKER_CERT_PATH and DOCKER_TLS_VERIFY, as the docker CLI does', () => {
    const parsed = parseDockerEndpoint('tcp://10.0.0.5:2376', null, {
      DOCKER_CERT_PATH: '/certs',
      DOCKER_TLS_VERIFY: '1',
    });
    assert.deepEqual(parsed, {
      ok: true,
      connection: {
        kind: 'tcp',
        host: '10.0.0.5',
        port: 2376,
        protocol: 'https',
        tls: { ca: '/certs/ca.pem', cert: '/certs/cert.pem', key: '/certs/key.pem' },
      },
    });
  });

  it('takes certificates from the settings before the environment, and IPv6 hosts', () => {
    const parsed = parseDockerEndpoint('tcp://[fd00::5]', { ca: '/a/ca.pem' }, { DOCKER_CERT_PATH: '/env' });
    assert.deepEqual(parsed, {
      ok: true,
      connection: { kind: 'tcp', host: 'fd00::5', port: 2376, protocol: 'https', tls: { ca: '/a/ca.pem' } },
    });
  });

  it('refuses what it cannot reach, with a message', () => {
    for (const bad of ['ssh://me@host', 'unix://relative.sock', 'tcp://host:99999', 'docker.sock']) {
      const parsed = parseDockerEndpoint(bad, null);
      assert.equal(parsed.ok, false, bad);
    }
  });
});
