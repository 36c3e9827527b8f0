import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyDynamicConfig } from '@berth/config';
import { resolveFileReferences } from '../src/provider/file-references.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

const files: Record<string, string> = {
  '/conf/users.htpasswd': '# admins\nalice:{SHA}qvTGHdzF6KLavt4PO0gs2a6pQ00=\n\nbob:$apr1$x$y\n',
  '/etc/ca.pem': '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
  '/conf/users.htdigest': 'test:traefik:a2688e031edb4be6a3797f3882655c05\n',
  '/conf/client.pem': '-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n',
  '/conf/client.key': '-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n',
};
const readText = async (p: string) => {
  const t = files[p];
  if (t === undefined) throw new Error(`ENOENT: no such file '${p}'`);
  return t;
};

function part(http: Partial<ProviderPart['config']['http']>): ProviderPart {
  const config = emptyDynamicConfig();
  Object.assign(config.http, http);
  return { sourceKey: '/conf/dynamic.yml', config, errors: [] };
}

describe('file references', () => {
  it('inlines a basicAuth usersFile, relative to the configuration file, skipping comments and blanks', async () => {
    const [out] = await resolveFileReferences(
      [
        part({
          middlewares: {
            auth: { basicAuth: { usersFile: 'users.htpasswd', users: ['carol:{SHA}x'], realm: 'r' } },
          },
        }),
      ],
      readText,
    );
    assert.deepEqual(out?.config.http.middlewares?.['auth'], {
      basicAuth: {
        realm: 'r',
        users: ['carol:{SHA}x', 'alice:{SHA}qvTGHdzF6KLavt4PO0gs2a6pQ00=', 'bob:$apr1$x$y'],
      },
    });
    assert.deepEqual(out?.errors, []);
  });

  it('drops only the middleware whose file cannot be read, and names the file', async () => {
    const [out] = await resolveFileReferences(
      [
        part({
          middlewares: { auth: { basicAuth: { usersFile: '/nope' } }, ok: { addPrefix: { prefix: '/a' } } },
        }),
      ],
      readText,
    );
    assert.deepEqual(Object.keys(out?.config.http.middlewares ?? {}), ['ok']);
    assert.equal(out?.errors[0]?.code, 'BERTH_FILE_REFERENCE');
    assert.equal(out?.errors[0]?.path, 'http.middlewares.auth.basicAuth.usersFile');
    assert.match(out?.errors[0]?.message ?? '', /\/nope/);
  });

  it('inlines a digestAuth usersFile and forwardAuth TLS files, and names the unreadable one', async () => {
    const [out] = await resolveFileReferences(
      [
        part({
          middlewares: {
            digest: { digestAuth: { usersFile: 'users.htdigest' } },
            fa: {
              forwardAuth: {
                address: 'https://auth:9443/',
                tls: { ca: '/etc/ca.pem', cert: 'client.pem', key: 'client.key', insecureSkipVerify: false },
              },
            },
            broken: { forwardAuth: { address: 'https://auth/', tls: { ca: '/missing.pem' } } },
          },
        }),
      ],
      readText,
    );
    const mws = out?.config.http.middlewares ?? {};
    assert.deepEqual(mws['digest'], {
      digestAuth: { users: ['test:traefik:a2688e031edb4be6a3797f3882655c05'] },
    });
    assert.deepEqual(mws['fa']?.forwardAuth?.tls, {
      ca: files['/etc/ca.pem'],
      cert: files['/conf/client.pem'],
      key: files['/conf/client.key'],
      insecureSkipVerify: false,
    });
    assert.equal(mws['broken'], undefined);
    assert.deepEqual(
      out?.errors.map((e) => [e.code, e.path]),
      [['BERTH_FILE_REFERENCE', 'http.middlewares.broken.forwardAuth.tls.ca']],
    );
  });

  it('inlines rateLimit.redis TLS files, and names the unreadable one', async () => {
    const [out] = await resolveFileReferences(
      [
        part({
          middlewares: {
            rl: {
              rateLimit: {
                average: 10,
                redis: {
                  endpoints: ['r:6379'],
                  tls: { ca: '/etc/ca.pem', cert: 'client.pem', key: 'client.key' },
                },
              },
            },
            broken: { rateLimit: { redis: { tls: { ca: '/missing.pem' } } } },
          },
        }),
      ],
      readText,
    );
    const mws = out?.config.http.middlewares ?? {};
    assert.deepEqual(mws['rl']?.rateLimit, {
      average: 10,
      redis: {
        endpoints: ['r:6379'],
        tls: { ca: files['/etc/ca.pem'], cert: files['/conf/client.pem'], key: files['/conf/client.key'] },
      },
    });
    assert.equal(mws['broken'], undefined);
    assert.deepEqual(
      out?.errors.map((e) => [e.code, e.path]),
      [['BERTH_FILE_REFERENCE', 'http.middlewares.broken.rateLimit.redis.tls.ca']],
    );
  });

  it('reads transport CA files and keeps inline PEM', async () => {
    const inline = '-----BEGIN CERTIFICATE-----\ninline\n-----END CERTIFICATE-----';
    const [out] = await resolveFileReferences(
      [part({ serversTransports: { t: { rootCAs: ['/etc/ca.pem', inline], serverName: 'b' } } })],
      readText,
    );
    assert.deepEqual(out?.config.http.serversTransports?.['t'], {
      rootCAs: [files['/etc/ca.pem'], inline],
      serverName: 'b',
    });
  });

  it('leaves parts without references untouched', async () => {
    const p = part({});
    const [out] = await resolveFileReferences([p], readText);
    assert.equal(out, p);
  });
});
