// ipAllowList: source ranges, the depth and excludedIPs strategies, and the reject status.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CidrSet } from '@berth/config';
import { MiddlewareConfigError } from '../src/http/context.js';
import { clientAddressFor, ipAllowList } from '../src/http/middlewares/ip-allow-list.js';
import { call } from './support/client.js';
import {
  build,
  buildContext,
  type Harness,
  type HarnessOptions,
  startHarness,
} from './support/mw-a-harness.js';

const harnesses: Harness[] = [];
after(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

async function harness(
  config: Parameters<typeof ipAllowList>[0],
  opts: HarnessOptions = {},
): Promise<number> {
  const h = await startHarness(build(ipAllowList, config), opts);
  harnesses.push(h);
  return h.port;
}

describe('ipAllowList address strategies', () => {
  const xff = ['203.0.113.9', '10.0.0.1', '10.0.0.2'];

  it('takes the client address when no strategy is set', () => {
    assert.equal(clientAddressFor({ depth: 0, excluded: null }, xff, '192.0.2.1'), '192.0.2.1');
  });

  it('takes the entry depth places from the right of X-Forwarded-For, or none when too short', () => {
    assert.equal(clientAddressFor({ depth: 1, excluded: null }, xff, 'peer'), '10.0.0.2');
    assert.equal(clientAddressFor({ depth: 3, excluded: null }, xff, 'peer'), '203.0.113.9');
    assert.equal(clientAddressFor({ depth: 4, excluded: null }, xff, 'peer'), '');
  });

  it('takes the right-most entry not excluded', () => {
    const excluded = CidrSet.parse(['10.0.0.0/8']).set;
    assert.equal(clientAddressFor({ depth: 0, excluded }, xff, 'peer'), '203.0.113.9');
    assert.equal(clientAddressFor({ depth: 0, excluded }, ['10.1.1.1'], 'peer'), '');
  });
});

describe('ipAllowList middleware', () => {
  it('lets a client in the source ranges through and answers 403 Forbidden to others', async () => {
    const allowed = await harness({ sourceRange: ['127.0.0.1/32', '192.168.1.0/24'] });
    assert.equal((await call(allowed)).status, 200);
    const denied = await harness({ sourceRange: ['192.168.1.0/24'] });
    const reply = await call(denied);
    assert.equal(reply.status, 403);
    assert.equal(reply.body, 'Forbidden');
  });

  it('checks the context client address, IPv6 ranges included', async () => {
    const port = await harness({ sourceRange: ['2001:db8::/32'] }, { clientIp: '2001:db8::7' });
    assert.equal((await call(port)).status, 200);
  });

  it('answers with rejectStatusCode when set', async () => {
    const port = await harness({ sourceRange: ['10.0.0.0/8'], rejectStatusCode: 404 });
    const reply = await call(port);
    assert.equal(reply.status, 404);
    assert.equal(reply.body, 'Not Found');
  });

  it('reads X-Forwarded-For with ipStrategy.depth, across repeated headers', async () => {
    const port = await harness({ sourceRange: ['203.0.113.0/24'], ipStrategy: { depth: 2 } });
    assert.equal(
      (await call(port, { headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.5, 127.0.0.1' } })).status,
      200,
    );
    assert.equal(
      (await call(port, { headers: { 'x-forwarded-for': ['203.0.113.5', '127.0.0.1'] } })).status,
      200,
    );
    assert.equal((await call(port, { headers: { 'x-forwarded-for': '127.0.0.1' } })).status, 403);
    assert.equal((await call(port)).status, 403);
  });

  it('reads X-Forwarded-For with ipStrategy.excludedIPs', async () => {
    const port = await harness({
      sourceRange: ['203.0.113.0/24'],
      ipStrategy: { excludedIPs: ['10.0.0.0/8', '127.0.0.1'] },
    });
    const reply = await call(port, { headers: { 'x-forwarded-for': '203.0.113.5, 10.2.3.4, 127.0.0.1' } });
    assert.equal(reply.status, 200);
    assert.equal(
      (await call(port, { headers: { 'x-forwarded-for': '198.51.100.1, 10.2.3.4' } })).status,
      403,
    );
  });

  it('refuses an empty or invalid sourceRange, a bad status or a bad excludedIPs entry', () => {
    assert.throws(() => ipAllowList({ sourceRange: [] }, buildContext()), MiddlewareConfigError);
    assert.throws(() => ipAllowList({ sourceRange: ['10.0.0.0/33'] }, buildContext()), /10\.0\.0\.0\/33/);
    assert.throws(
      () => ipAllowList({ sourceRange: ['10.0.0.0/8'], rejectStatusCode: 42 }, buildContext()),
      MiddlewareConfigError,
    );
    assert.throws(
      () =>
        ipAllowList({ sourceRange: ['10.0.0.0/8'], ipStrategy: { excludedIPs: ['nope'] } }, buildContext()),
      MiddlewareConfigError,
    );
  });
});
