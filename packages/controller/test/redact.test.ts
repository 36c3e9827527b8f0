// The API's view of a snapshot: private keys (wherever they sit) and ticket keys replaced, everything else as nodes get it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SNAPSHOT_SCHEMA, type Snapshot } from '@berth/protocol';
import { REDACTED, redactSnapshot } from '../src/api/redact.js';

const KEY = '-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----\n';
const EC_KEY = '-----BEGIN EC PRIVATE KEY-----\nMHc...\n-----END EC PRIVATE KEY-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----\n';

describe('redactSnapshot', () => {
  it('replaces certificate keys, transport client keys and ticket keys, and leaves the rest alone', () => {
    const certificate = {
      certPem: CERT,
      keyPem: KEY,
      names: ['a.test'],
      notAfter: '2030-01-01T00:00:00.000Z',
      stores: ['default'],
      origin: 'file',
    };
    const snapshot: Snapshot = {
      epoch: 'e',
      version: 3,
      hash: 'h',
      createdAt: '2026-01-01T00:00:00.000Z',
      body: {
        schema: SNAPSHOT_SCHEMA,
        entryPoints: { websecure: { address: ':443' } },
        http: {
          routers: {},
          services: {},
          serversTransports: {
            mtls: { certificates: [{ certFile: CERT, keyFile: EC_KEY }], rootCAs: [CERT] },
          },
        },
        tls: {
          certificates: [certificate],
          defaultCertificate: { ...certificate, origin: 'default' },
          options: { default: { minVersion: 'VersionTLS12' } },
          sessionTicketKeys: ['a2V5MQ==', 'a2V5Mg=='],
        },
      },
    };
    const out = redactSnapshot(snapshot);
    assert.doesNotMatch(JSON.stringify(out), /PRIVATE KEY|a2V5/);
    assert.equal(out.body.tls?.certificates[0]?.keyPem, REDACTED);
    assert.equal(out.body.tls?.certificates[0]?.certPem, CERT);
    assert.equal(out.body.tls?.defaultCertificate.keyPem, REDACTED);
    assert.deepEqual(out.body.tls?.sessionTicketKeys, [REDACTED, REDACTED]);
    assert.deepEqual(out.body.http.serversTransports?.mtls, {
      certificates: [{ certFile: CERT, keyFile: REDACTED }],
      rootCAs: [CERT],
    });
    assert.equal(out.hash, 'h');
    // The original, which nodes get, is untouched.
    assert.equal(snapshot.body.tls?.certificates[0]?.keyPem, KEY);
  });

  it('keeps basicAuth user names, drops their hashes, and drops credential header values', () => {
    const snapshot: Snapshot = {
      epoch: 'e',
      version: 1,
      hash: 'h',
      createdAt: '2026-01-01T00:00:00.000Z',
      body: {
        schema: SNAPSHOT_SCHEMA,
        entryPoints: {},
        http: {
          routers: {},
          services: {},
          middlewares: {
            auth: {
              basicAuth: { users: ['alice:$apr1$salt$HASHA', 'bob:{SHA}HASHB=', 'nocolon'], realm: 'r' },
            },
            basicAuth: { basicAuth: { users: ['carol:$2y$05$HASHC'] } },
            digest: { digestAuth: { users: ['dave:traefik:HASHDIGEST'] } },
            sso: {
              forwardAuth: {
                address: 'https://auth.test/',
                tls: {
                  cert: 'CERT',
                  key: '-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----\n',
                },
              },
            },
            hdr: {
              headers: {
                customRequestHeaders: {
                  Authorization: 'Bearer SECRETD',
                  'X-Api-Key': 'SECRETE',
                  'X-Env': 'prod',
                },
                customResponseHeaders: { 'X-Frame-Options': 'DENY' },
              },
            },
          },
        },
      },
    };
    const out = redactSnapshot(snapshot);
    assert.doesNotMatch(JSON.stringify(out), /HASH|SECRET/);
    const mws = out.body.http.middlewares ?? {};
    assert.deepEqual(mws['auth'], {
      basicAuth: { users: [`alice:${REDACTED}`, `bob:${REDACTED}`, REDACTED], realm: 'r' },
    });
    assert.deepEqual(mws['basicAuth'], { basicAuth: { users: [`carol:${REDACTED}`] } });
    assert.deepEqual(mws['digest'], { digestAuth: { users: [`dave:${REDACTED}`] } });
    assert.deepEqual(mws['sso']?.forwardAuth?.tls, { cert: 'CERT', key: REDACTED });
    assert.deepEqual(mws['hdr'], {
      headers: {
        customRequestHeaders: { Authorization: REDACTED, 'X-Api-Key': REDACTED, 'X-Env': 'prod' },
        customResponseHeaders: { 'X-Frame-Options': 'DENY' },
      },
    });
    assert.match(JSON.stringify(snapshot), /HASHA/, 'what nodes get is untouched');
  });
});
