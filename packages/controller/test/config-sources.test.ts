// Specifies that middlewares, transports and static settings read from YAML keep their lines and reach the compiler.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigFile } from '../src/provider/yaml-config-file.js';
import { parseControllerConfig } from '../src/settings/controller-config.js';

describe('YAML sources for the new sections', () => {
  it('records the line of every middleware and servers transport of a dynamic file', () => {
    const text = [
      'http:',
      '  middlewares:',
      '    strip:',
      '      stripPrefix:',
      '        prefixes: [/api]',
      '  serversTransports:',
      '    tight:',
      '      maxConnsPerHost: 5',
      '',
    ].join('\n');
    const parsed = parseConfigFile(text, '/etc/berth/d.yml');
    assert.equal(parsed.kind, 'ok');
    if (parsed.kind !== 'ok') return;
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.sources.middlewares?.['strip']?.line, 3);
    assert.equal(parsed.sources.serversTransports?.['tight']?.line, 7);
  });

  it('refuses a key written twice in one map, naming the key and its line', () => {
    const text = [
      'http:',
      '  routers:',
      '    web:',
      '      rule: Host(`a`)',
      '    web:',
      '      rule: Host(`b`)',
      '',
    ].join('\n');
    const parsed = parseConfigFile(text, '/etc/berth/d.yml');
    assert.equal(parsed.kind, 'invalid');
    if (parsed.kind !== 'invalid') return;
    assert.equal(parsed.error.code, 'BERTH_FILE_PARSE');
    assert.equal(parsed.error.source?.line, 5);
    assert.match(parsed.error.message, /d\.yml:5:5: .*unique.*'web'/);
  });

  it('locates every one of 10,000 routers in a file', () => {
    const lines = ['http:', '  routers:'];
    for (let i = 0; i < 10_000; i++)
      lines.push(`    r${i}:`, `      rule: Host(\`r${i}.test\`)`, `      service: s`);
    const parsed = parseConfigFile(lines.join('\n'), '/etc/berth/big.yml');
    assert.equal(parsed.kind, 'ok');
    if (parsed.kind !== 'ok') return;
    assert.equal(parsed.sources.routers['r9999']?.line, 2 + 9999 * 3 + 1);
  });

  it('reads accessLog and routeRemovalGrace from the controller file', () => {
    const text = [
      'entryPoints:',
      '  web:',
      '    address: ":80"',
      'accessLog:',
      '  sampling: 0.25',
      'routeRemovalGrace: 15',
      '',
    ].join('\n');
    const settings = parseControllerConfig(text, '/etc/berth/berth.yml');
    assert.deepEqual(settings.errors, []);
    assert.deepEqual(settings.statics, {
      entryPoints: { web: { address: ':80' } },
      accessLog: { sampling: 0.25 },
      routeRemovalGrace: '15s',
    });
  });
});
