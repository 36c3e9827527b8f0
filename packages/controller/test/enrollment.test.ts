// Enrollment on the node channel: the join secret buys one node certificate, within limits.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { createNodeKeyAndCsr, nodeIdOfCertificate } from '@berth/protocol';
import { enrollAs, startTestDistributor, type TestDistributor } from './support/distributor-harness.js';

/** POSTs `body` to /v1/enroll; resolves with the status and JSON answer. */
function post(
  t: TestDistributor,
  body: string,
  secret = t.secret,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${t.url.replace('wss:', 'https:')}/v1/enroll`,
      {
        method: 'POST',
        ca: t.ca,
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            // left empty
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('enrollment', () => {
  let t: TestDistributor;

  before(async () => {
    t = await startTestDistributor(1000, { maxEnrollPerSourcePerMinute: 6 });
  });
  after(() => t.close());

  it('issues a certificate for the node key under a fresh id, recorded in the registry', async () => {
    const creds = await enrollAs(t, 'edge-1');
    assert.equal(nodeIdOfCertificate(creds.certPem), creds.nodeId);
    assert.equal(t.identities.get(creds.nodeId)?.name, 'edge-1');
    const other = await enrollAs(t, 'edge-1');
    assert.notEqual(other.nodeId, creds.nodeId, 'the controller picks the id, a new one each time');
  });

  it('refuses a request that is not a valid P-256 certificate request, naming why', async () => {
    const garbage = await post(t, JSON.stringify({ name: 'x', csr: 'not a csr' }));
    assert.equal(garbage.status, 400);
    assert.equal(garbage.json['code'], 'BERTH_NODE_ENROLL_INVALID');
    const noName = await post(t, JSON.stringify({ csr: (await createNodeKeyAndCsr('x')).csrPem }));
    assert.equal(noName.status, 400);
    const huge = await post(t, JSON.stringify({ name: 'x', csr: 'A'.repeat(64 * 1024) }));
    assert.equal(huge.status, 413);
  });

  it('refuses a wrong secret with 401 and no certificate', async () => {
    const { csrPem } = await createNodeKeyAndCsr('x');
    const res = await post(t, JSON.stringify({ name: 'x', csr: csrPem }), 'W'.repeat(43));
    assert.equal(res.status, 401);
    assert.equal(res.json['code'], 'BERTH_TOKEN_REJECTED');
  });

  it('answers 429 past the per-address allowance of a minute', async () => {
    const { csrPem } = await createNodeKeyAndCsr('x');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await post(t, JSON.stringify({ name: 'x', csr: csrPem }))).status);
    assert.ok(statuses.includes(429), `statuses: ${statuses.join(' ')}`);
    assert.equal(statuses.at(-1), 429);
  });
});
