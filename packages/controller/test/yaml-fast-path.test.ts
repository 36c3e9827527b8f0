// The fast YAML path (js-yaml and the key-line index) reads every file exactly as the YAML library's document model does, or steps aside.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfigFile } from '../src/provider/yaml-config-file.js';
import { indexKeyLines, keyLine } from '../src/provider/yaml-key-lines.js';
import { corpusDir } from './support/compose-corpus.js';

const ORIGIN = '/etc/berth/dynamic.yml';

const routes = (n: number) => {
  const lines = ['http:', '  routers:'];
  for (let i = 0; i < n; i++)
    lines.push(`    r${i}:`, `      rule: Host(\`r${i}.test\`)`, `      service: s${i}`);
  lines.push('  services:');
  for (let i = 0; i < n; i++)
    lines.push(
      `    s${i}:`,
      '      loadBalancer:',
      '        servers:',
      '          - url: http://127.0.0.1:9',
    );
  return `${lines.join('\n')}\n`;
};

/** Files the fast path takes, and files it must leave to the document model; each is read both ways. */
const SAMPLES: Record<string, string> = {
  generated: routes(20),
  'comments, quotes, flow values, a block scalar, a sequence at its key’s indentation': `---
# leading comment
http:
  routers:
    "quoted": # trailing comment
      rule: "Host(\`a.test\`) && PathPrefix(\`/x\`)"  
      service: 'app'
      entryPoints: [web, websecure]
      priority: 10
      tls: {}
    Mixed.Case-name_1:
      rule: Host(\`b.test\`) || Host(\`c.test\`) # comment
      service: app
      middlewares:
      - auth
      - strip
  middlewares:
    auth:
      basicAuth:
        users:
          - "user:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"
    strip:
      stripPrefix: { prefixes: ["/x"] }
    head:
      headers:
        customResponseHeaders:
          X-Note: |
            line one
              line: two
            - three
  services:
    app:
      loadBalancer:
        servers:
        - url: http://127.0.0.1:9
        - url: "http://127.0.0.1:10"
        passHostHeader: false
`,
  'scalars of the core schema': `http:
  routers:
    r:
      rule: Host(\`a.test\`)
      service: app
      priority: 0x10
  services:
    app:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9
        passHostHeader: TRUE
        responseForwarding:
          flushInterval: 1e3
        healthCheck:
          path: ~
          interval: 2024-01-01
          port: 0o17
          timeout: .5
`,
  'errors to locate (a missing service, a bad rule, an unknown key)': `http:
  routers:
    r1:
      rule: Host(\`a.test\`
    r2:
      rule: Host(\`b.test\`)
      service: nowhere
      bogus: 1
  services: {}
`,
  'TLS certificates (a path into a sequence)': `tls:
  certificates:
    - certFile: /a.crt
      keyFile: /a.key
    - certFile: /b.crt
      keyFile: /b.key
  options:
    default:
      minVersion: VersionTLS12
`,
  'anchors and aliases': `http:
  services:
    app: &lb
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9
    copy: *lb
  routers: {}
`,
  'merge keys': `x-base: &base
  service: app
http:
  routers:
    r:
      <<: *base
      rule: Host(\`a.test\`)
`,
  'a duplicate key': `http:
  routers:
    r:
      rule: Host(\`a.test\`)
      service: app
    r:
      rule: Host(\`b.test\`)
      service: app
`,
  'a multi-line plain scalar': `http:
  routers:
    r:
      rule: Host(\`a.test\`)
        || Host(\`b.test\`)
      service: app
`,
  'a multi-line flow mapping': `http:
  routers: {
    r: { rule: "Host(\`a.test\`)", service: app }
  }
`,
  'a tab': 'http:\n\trouters: {}\n',
  'bad indentation': 'http:\n  routers:\n    r:\n      rule: x\n     service: y\n',
  'a syntax error': 'http:\n  routers:\n    r: [unclosed\n',
  'several documents': 'http: {}\n---\nhttp: {}\n',
  'a scalar document': 'just text\n',
  empty: '# nothing\n',
  'null keys': 'http:\n  routers:\n    null:\n      rule: Host(`a`)\n      service: s\n',
  'a tag': 'http:\n  routers:\n    r:\n      rule: !!str Host(`a`)\n      service: s\n',
  'windows line ends': 'http:\r\n  routers:\r\n    r:\r\n      rule: Host(`a`)\r\n      service: s\r\n',
};

function corpusFiles(): Record<string, string> {
  const dir = corpusDir();
  if (dir === undefined) return {};
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)))
    out[name] = readFileSync(join(dir, name), 'utf8');
  return out;
}

describe('the fast YAML path', () => {
  it('reads each sample and each corpus file exactly as the document model does', () => {
    for (const [name, text] of Object.entries({ ...SAMPLES, ...corpusFiles() })) {
      const fast = parseConfigFile(text, ORIGIN);
      const full = parseConfigFile(text, ORIGIN, { fast: false });
      assert.deepEqual(fast, full, name);
    }
  });

  it('takes plain block-style files, and leaves the rest to the document model', () => {
    const taken = Object.entries(SAMPLES)
      .filter(([, text]) => indexKeyLines(text) !== null)
      .map(([name]) => name);
    assert.deepEqual(taken, [
      'generated',
      'comments, quotes, flow values, a block scalar, a sequence at its key’s indentation',
      'scalars of the core schema',
      'errors to locate (a missing service, a bad rule, an unknown key)',
      'TLS certificates (a path into a sequence)',
      'a duplicate key',
      'empty',
    ]);
  });

  it('finds the line of each key, and says when a path goes further than its keys', () => {
    const index = indexKeyLines(routes(3));
    assert.ok(index);
    assert.deepEqual(keyLine(index, ['http', 'routers', 'r2']), { line: 9, complete: true });
    assert.deepEqual(keyLine(index, ['HTTP', 'services', 's0', 'loadBalancer']), {
      line: 14,
      complete: true,
    });
    assert.deepEqual(keyLine(index, ['http', 'routers', 'r2', 'tls']), { line: 9, complete: false });
    assert.deepEqual(keyLine(index, ['tcp']), { complete: false });
  });
});
