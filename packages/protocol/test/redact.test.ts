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
