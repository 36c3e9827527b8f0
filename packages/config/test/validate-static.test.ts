// Specifies how raw static configuration (entry points) is validated.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateStatic } from '../src/index.js';

describe('validateStatic', () => {
  it('keeps entry points with valid addresses as written', () => {
    const raw = {
      entryPoints: {
        web: { address: ':80' },
        local: { address: '127.0.0.1:8080' },
        v6: { address: '[::1]:443' },
      },
    };
    assert.deepEqual(validateStatic(raw), { config: raw, errors: [] });
  });

  it('matches keys case-insensitively', () => {
    assert.deepEqual(validateStatic({ EntryPoints: { web: { Address: ':80' } } }), {
      config: { entryPoints: { web: { address: ':80' } } },
      errors: [],
    });
  });

  it('treats empty input and a null entryPoints section as no entry points', () => {
    for (const raw of [null, undefined, {}, { entryPoints: null }]) {
      assert.deepEqual(validateStatic(raw), { config: { entryPoints: {} }, errors: [] });
    }
  });

  it('drops an entry point with an invalid address and keeps the others', () => {
    const asked: string[][] = [];
    const { config, errors } = validateStatic(
      { entryPoints: { web: { address: ':80' }, bad: { address: ':99999' } } },
      {
        sourceOf: (path) => {
          asked.push(path);
          return { provider: 'static', origin: 'berth.yml', line: 3 };
        },
      },
    );
    assert.deepEqual(config.entryPoints, { web: { address: ':80' } });
    assert.deepEqual(errors, [
      {
        code: 'BERTH_CONFIG_INVALID_ADDRESS',
        path: 'entryPoints.bad.address',
        message: errors[0]?.message,
        source: { provider: 'static', origin: 'berth.yml', line: 3 },
      },
    ]);
    assert.match(errors[0]!.message, /":99999"/);
    assert.deepEqual(asked, [['entryPoints', 'bad', 'address']]);
  });

  it('reports a missing or mistyped address', () => {
    const { config, errors } = validateStatic({ entryPoints: { a: {}, b: { address: 80 }, c: null } });
    assert.deepEqual(config.entryPoints, {});
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [
        ['BERTH_CONFIG_REQUIRED', 'entryPoints.a.address'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.b.address'],
        ['BERTH_CONFIG_INVALID_TYPE', 'entryPoints.c'],
      ],
    );
  });

  it('reports unknown and unsupported entry point fields and drops the entry point', () => {
    const { config, errors } = validateStatic({
      entryPoints: { a: { address: ':80', adress: ':81' }, b: { address: ':443', http3: {} } },
    });
    assert.deepEqual(config.entryPoints, {});
    assert.deepEqual(
      errors.map((e) => [e.code, e.path]),
      [
        ['BERTH_CONFIG_UNKNOWN_FIELD', 'entryPoints.a.adress'],
        ['BERTH_CONFIG_UNSUPPORTED', 'entryPoints.b.http3'],
      ],
    );
  });

  it('reports other top-level sections as unsupported and a non-mapping top level as one error', () => {
    assert.deepEqual(
      validateStatic({ providers: { docker: {} }, entryPoints: {} }).errors.map((e) => [e.code, e.path]),
      [['BERTH_CONFIG_UNSUPPORTED', 'providers']],
    );
    const { config, errors } = validateStatic(['entryPoints']);
    assert.deepEqual(config, { entryPoints: {} });
    assert.deepEqual(
      errors.map((e) => e.code),
      ['BERTH_CONFIG_INVALID_TYPE'],
    );
  });
});
