// Specifies how TLS configuration is validated: router tls, the tls section, and PROXY protocol to HTTP servers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfigError, validateDynamic } from '../src/index.js';

const router = { rule: 'Host(`a.com`)', service: 'api' };

function only(errors: readonly ConfigError[]): ConfigError {
  assert.equal(errors.length, 1, JSON.stringify(errors, null, 2));
  return errors[0]!;
}

function codesAndPaths(errors: readonly ConfigError[]): string[][] {
  return errors.map((e) => [e.code, e.path]);
}

describe('http router tls', () => {
  it('passes options, certResolver and domains through unchanged', () => {
    const raw = {
      http: {
        routers: {
          web: {
            ...router,
            tls: {
              options: 'modern@file',
              certResolver: 'le',
              domains: [{ main: 'example.com', sans: ['*.example.com', 'example.org'] }, { main: 'a.com' }],
            },
          },
          plain: { ...router, tls: {} },
        },
        services: {},
      },
    };
    assert.deepEqual(validateDynamic(raw), { config: raw, errors: [] });
  });

  it('reads the label forms tls=true (boolean or string) as {}, tls=false and tls: null as no tls', () => {
    const { config, errors } = validateDynamic({
      http: {
        routers: {
          a: { ...router, tls: true },
          b: { ...router, tls: 'true' },
          c: { ...router, tls: 'FALSE' },
          d: { ...router, tls: null },
          e: { ...router, Tls: { CertResolver: 'le', domains: [{ main: 'a.com', sans: 'b.com, c.com' }] } },
        },
      },
    });
    assert.deepEqual(errors, []);
    const routers = config.http.routers;
    assert.deepEqual(routers['a']?.tls, {});
    assert.deepEqual(routers['b']?.tls, {});
    assert.equal('tls' in routers['c']!, false);
    assert.equal('tls' in routers['d']!, false);
    assert.deepEqual(routers['e']?.tls, {
      certResolver: 'le',
      domains: [{ main: 'a.com', sans: ['b.com', 'c.com'] }],
    });
  });

  it('drops a router whose tls is mistyped, naming what tls accepts', () => {
    const { config, errors } = validateDynamic({
      http: {
        routers: {
          num: { ...router, tls: 1 },
          typo: { ...router, tls: { certresolvers: 'le' } },
          passthrough: { ...router, tls: { passthrough: true } },
          good: { ...router, tls: {} },
        },
      },
    });
    assert.deepEqual(Object.keys(config.http.routers), ['good']);
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_INVALID_TYPE', 'http.routers.num.tls'],
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'http.routers.typo.tls.certresolvers'],
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'http.routers.passthrough.tls.passthrough'],
    ]);
    assert.match(
      errors[0]!.message,
      /^router 'num': tls must be a mapping \(options, certResolver, domains\) or true, got number 1$/,
    );
    assert.match(errors[1]!.message, /valid fields: options, certResolver, domains/);
  });
});

describe('http servers transport proxyProtocol', () => {
  it('accepts version 1 or 2, also as label strings', () => {
    const { config, errors } = validateDynamic({
      http: {
        serversTransports: { v1: { proxyProtocol: { version: 1 } }, v2: { proxyProtocol: { version: '2' } } },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.http.serversTransports, {
      v1: { proxyProtocol: { version: 1 } },
      v2: { proxyProtocol: { version: 2 } },
    });
  });

  it('refuses any other version', () => {
    const { config, errors } = validateDynamic({
      http: { serversTransports: { v3: { proxyProtocol: { version: 3 } } } },
    });
    assert.deepEqual(config.http.serversTransports, {});
    const error = only(errors);
    assert.deepEqual(
      [error.code, error.path],
      ['BERTH_CONFIG_INVALID_TYPE', 'http.serversTransports.v3.proxyProtocol.version'],
    );
    assert.match(error.message, /version must be a whole number from 1 to 2, got number 3/);
  });
});

describe('tls.certificates', () => {
  it('keeps certificates with their stores; paths and inline PEM are both strings', () => {
    const raw = {
      http: { routers: {}, services: {} },
      tls: {
        certificates: [
          { certFile: '/etc/traefik/certs/cert.pem', keyFile: '/etc/traefik/certs/key.pem' },
          {
            certFile: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
            keyFile: '/k.pem',
            stores: ['default', 'internal'],
          },
        ],
      },
    };
    assert.deepEqual(validateDynamic(raw), { config: raw, errors: [] });
  });

  it('drops a broken certificate alone and never quotes a key in the message', () => {
    const secret = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
    const { config, errors } = validateDynamic({
      tls: {
        certificates: [
          { certFile: '/a.pem' },
          { certFile: '', keyFile: secret },
          { certFile: '/b.pem', keyFile: '/b.key', store: ['x'] },
          'cert.pem',
          { certFile: '/ok.pem', keyFile: secret },
        ],
      },
    });
    assert.deepEqual(config.tls?.certificates, [{ certFile: '/ok.pem', keyFile: secret }]);
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_REQUIRED', 'tls.certificates.0.keyFile'],
      ['BERTH_CONFIG_REQUIRED', 'tls.certificates.1.certFile'],
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'tls.certificates.2.store'],
      ['BERTH_CONFIG_INVALID_TYPE', 'tls.certificates.3'],
    ]);
    assert.match(errors[0]!.message, /^tls certificate 0: keyFile is required$/);
    for (const error of errors) assert.doesNotMatch(error.message, /PRIVATE|MIIE/);
  });

  it('reports certificates that are not a list', () => {
    const error = only(validateDynamic({ tls: { certificates: { certFile: 'a', keyFile: 'b' } } }).errors);
    assert.deepEqual([error.code, error.path], ['BERTH_CONFIG_INVALID_TYPE', 'tls.certificates']);
  });
});

describe('tls.options', () => {
  it('passes a complete options entry through unchanged', () => {
    const raw = {
      http: { routers: {}, services: {} },
      tls: {
        options: {
          default: {
            minVersion: 'VersionTLS12',
            maxVersion: 'VersionTLS13',
            cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256'],
            curvePreferences: ['X25519', 'CurveP256'],
            sniStrict: true,
            alpnProtocols: ['h2', 'http/1.1'],
            clientAuth: { caFiles: ['/ca.pem'], clientAuthType: 'RequireAndVerifyClientCert' },
            disableSessionTickets: false,
            preferServerCipherSuites: true,
          },
          mtlsOptional: { clientAuth: { clientAuthType: 'RequestClientCert' } },
        },
      },
    };
    assert.deepEqual(validateDynamic(raw), { config: raw, errors: [] });
  });

  it('normalises version spellings and curve names to the Go names', () => {
    const { config, errors } = validateDynamic({
      tls: {
        options: {
          a: {
            MinVersion: 'versiontls12',
            curvePreferences: ['secp256r1', 'secp384r1', 'SECP521R1', 'x25519', 'curvep256'],
          },
          b: { curvePreferences: 'secp384r1,X25519' },
        },
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config.tls?.options, {
      a: {
        minVersion: 'VersionTLS12',
        curvePreferences: ['CurveP256', 'CurveP384', 'CurveP521', 'X25519', 'CurveP256'],
      },
      b: { curvePreferences: ['CurveP384', 'X25519'] },
    });
  });

  it('refuses minVersion above maxVersion', () => {
    const { config, errors } = validateDynamic({
      tls: { options: { odd: { minVersion: 'VersionTLS13', maxVersion: 'VersionTLS12' } } },
    });
    assert.deepEqual(config.tls?.options, {});
    const error = only(errors);
    assert.deepEqual(
      [error.code, error.path],
      ['BERTH_CONFIG_TLS_VERSION_RANGE', 'tls.options.odd.minVersion'],
    );
    assert.match(error.message, /minVersion VersionTLS13 is above maxVersion VersionTLS12/);
  });

  it('refuses unknown versions, listing the valid ones', () => {
    const error = only(validateDynamic({ tls: { options: { a: { minVersion: 'TLSv1.2' } } } }).errors);
    assert.deepEqual([error.code, error.path], ['BERTH_CONFIG_INVALID_TYPE', 'tls.options.a.minVersion']);
    assert.match(
      error.message,
      /"VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13", got the string "TLSv1\.2"/,
    );
  });

  it('names an unknown cipher suite and suggests the close known names', () => {
    const { errors } = validateDynamic({
      tls: {
        options: {
          a: {
            cipherSuites: [
              'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
              'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265',
              'ECDHE-RSA-AES128-GCM-SHA256',
              'tls_aes_128_gcm_sha256',
              'TLS_ECDHE_RSA_WITH_RC4_128_SHA',
            ],
          },
        },
      },
    });
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_TLS_UNKNOWN_CIPHER', 'tls.options.a.cipherSuites.1'],
      ['BERTH_CONFIG_TLS_UNKNOWN_CIPHER', 'tls.options.a.cipherSuites.2'],
      ['BERTH_CONFIG_TLS_UNKNOWN_CIPHER', 'tls.options.a.cipherSuites.3'],
      ['BERTH_CONFIG_TLS_UNKNOWN_CIPHER', 'tls.options.a.cipherSuites.4'],
    ]);
    assert.match(
      errors[0]!.message,
      /^tls options 'a': cipherSuites\[1\] "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265" is not a known cipher suite; did you mean TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\?/,
    );
    assert.match(
      errors[1]!.message,
      /use Go\/IANA names like TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 \(not OpenSSL names/,
    );
    assert.match(errors[2]!.message, /did you mean TLS_AES_128_GCM_SHA256\?/);
    assert.match(errors[3]!.message, /RC4/);
  });

  it('accepts TLS_FALLBACK_SCSV, which Traefik lists among its suites', () => {
    const { errors } = validateDynamic({ tls: { options: { a: { cipherSuites: ['TLS_FALLBACK_SCSV'] } } } });
    assert.deepEqual(errors, []);
  });

  it('refuses unknown curves, naming the supported ones', () => {
    const error = only(
      validateDynamic({ tls: { options: { a: { curvePreferences: ['X25519', 'P-999'] } } } }).errors,
    );
    assert.deepEqual(
      [error.code, error.path],
      ['BERTH_CONFIG_INVALID_TYPE', 'tls.options.a.curvePreferences.1'],
    );
    assert.match(
      error.message,
      /"P-999" is not a supported curve; use CurveP256, CurveP384, CurveP521 or X25519/,
    );
  });

  it('checks clientAuthType and requires caFiles for the modes that verify', () => {
    const { config, errors } = validateDynamic({
      tls: {
        options: {
          verify: { clientAuth: { clientAuthType: 'RequireAndVerifyClientCert' } },
          ifGiven: { clientAuth: { clientAuthType: 'verifyclientcertifgiven', caFiles: [] } },
          typo: { clientAuth: { clientAuthType: 'RequireClientCert', caFiles: ['/ca.pem'] } },
          any: { clientAuth: { clientAuthType: 'RequireAnyClientCert' } },
        },
      },
    });
    assert.deepEqual(config.tls?.options, {
      any: { clientAuth: { clientAuthType: 'RequireAnyClientCert' } },
    });
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_REQUIRED', 'tls.options.verify.clientAuth.caFiles'],
      ['BERTH_CONFIG_REQUIRED', 'tls.options.ifGiven.clientAuth.caFiles'],
      ['BERTH_CONFIG_INVALID_TYPE', 'tls.options.typo.clientAuth.clientAuthType'],
    ]);
    assert.match(
      errors[0]!.message,
      /clientAuth\.caFiles is required with clientAuthType RequireAndVerifyClientCert/,
    );
    assert.match(errors[1]!.message, /clientAuthType VerifyClientCertIfGiven/);
    assert.match(errors[2]!.message, /"NoClientCert", "RequestClientCert"/);
  });

  it('reports unknown option fields and mistyped flags', () => {
    const { errors } = validateDynamic({
      tls: { options: { a: { sniStict: true, sniStrict: 'yes', alpnProtocols: [1] } } },
    });
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'tls.options.a.sniStict'],
      ['BERTH_CONFIG_INVALID_TYPE', 'tls.options.a.sniStrict'],
      ['BERTH_CONFIG_INVALID_TYPE', 'tls.options.a.alpnProtocols.0'],
    ]);
  });
});

describe('tls.stores', () => {
  it('keeps a default certificate and a generated default certificate', () => {
    const raw = {
      http: { routers: {}, services: {} },
      tls: {
        stores: {
          default: { defaultCertificate: { certFile: '/c.pem', keyFile: '/k.pem' } },
          acme: {
            defaultGeneratedCert: {
              resolver: 'le',
              domain: { main: 'example.com', sans: ['*.example.com'] },
            },
          },
        },
      },
    };
    assert.deepEqual(validateDynamic(raw), { config: raw, errors: [] });
  });

  it('requires both files of a default certificate and the resolver of a generated one', () => {
    const { config, errors } = validateDynamic({
      tls: {
        stores: {
          a: { defaultCertificate: { certFile: '/c.pem' } },
          b: { defaultGeneratedCert: { domain: { main: 'a.com' } } },
          c: { defaultCert: {} },
        },
      },
    });
    assert.deepEqual(config.tls?.stores, {});
    assert.deepEqual(codesAndPaths(errors), [
      ['BERTH_CONFIG_REQUIRED', 'tls.stores.a.defaultCertificate.keyFile'],
      ['BERTH_CONFIG_REQUIRED', 'tls.stores.b.defaultGeneratedCert.resolver'],
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'tls.stores.c.defaultCert'],
    ]);
  });
});

describe('tls section', () => {
  it('reports a tls section that is not a mapping, and unknown fields in it', () => {
    assert.deepEqual(codesAndPaths(validateDynamic({ tls: 'on' }).errors), [
      ['BERTH_CONFIG_INVALID_TYPE', 'tls'],
    ]);
    assert.deepEqual(codesAndPaths(validateDynamic({ tls: { certificate: [] } }).errors), [
      ['BERTH_CONFIG_UNKNOWN_FIELD', 'tls.certificate'],
    ]);
  });
});
