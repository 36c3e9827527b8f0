// The redaction the controller's API and a node's api@internal share: secrets out, the rest as is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED, redactSecrets } from '../src/redact.js';

describe('redactSecrets', () => {
  it('redacts values under keys named password or secret, whatever they look like', () => {
    const config = {
      rateLimit: {
        average: 10,
        redis: { endpoints: ['127.0.0.1:6379'], password: 'hunter2', username: 'u' },
      },
      oidc: { clientSecret: 'abc', clientId: 'berth' },
      other: { Secret: 's', secretName: 'kept' },
    };
    assert.deepEqual(redactSecrets(config), {
      rateLimit: { average: 10, redis: { endpoints: ['127.0.0.1:6379'], password: REDACTED, username: 'u' } },
      oidc: { clientSecret: REDACTED, clientId: 'berth' },
      other: { Secret: REDACTED, secretName: 'kept' },
    });
  });

  it('redacts URL passwords and health check credential headers', () => {
    const out = redactSecrets({
      loadBalancer: {
        servers: [{ url: 'http://svc:p%40ss@10.0.0.1:80/x' }, { url: 'http://10.0.0.2:80' }],
        healthCheck: { path: '/h', headers: { Authorization: 'Basic eDp5', 'X-Probe': '1' } },
      },
      forwardAuth: { address: 'https://user@auth.test/verify' },
    });
    assert.deepEqual(out, {
      loadBalancer: {
        servers: [{ url: `http://svc:${REDACTED}@10.0.0.1:80/x` }, { url: 'http://10.0.0.2:80' }],
        healthCheck: { path: '/h', headers: { Authorization: REDACTED, 'X-Probe': '1' } },
      },
      forwardAuth: { address: 'https://user@auth.test/verify' },
    });
  });

  it('keeps user names and drops hashes, credential headers and PEM private keys anywhere', () => {
    const out = redactSecrets({
      basicAuth: { users: ['alice:$apr1$x$y', 'broken'] },
      headers: { customResponseHeaders: { 'Set-Cookie': 'a=b', 'X-Frame': 'DENY' } },
      deep: [{ pem: '-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----' }],
    });
    assert.deepEqual(out, {
      basicAuth: { users: [`alice:${REDACTED}`, REDACTED] },
      headers: { customResponseHeaders: { 'Set-Cookie': REDACTED, 'X-Frame': 'DENY' } },
      deep: [{ pem: REDACTED }],
    });
  });
});
