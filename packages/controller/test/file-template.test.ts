// Dynamic files as Go templates, rendered before YAML as Traefik's file provider does: the subset
// Berth renders, what it refuses (with the construct and its line), and lines kept for errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCodes } from '../src/compiler/error-codes.js';
import { renderFileTemplate } from '../src/provider/template/file-template.js';
import { parseConfigFile } from '../src/provider/yaml-config-file.js';
import { IncrementalYamlFile } from '../src/provider/yaml-incremental.js';
import { corpusDir } from './support/compose-corpus.js';

const env = { DOMAIN: 'example.com', EMPTY: '', HOSTS: 'a,b,c' };

function render(text: string, vars: Record<string, string> = env): string {
  const r = renderFileTemplate(text, vars);
  if (!r.ok) assert.fail(`${r.problem.kind} at line ${r.problem.line}: ${r.problem.message}`);
  return r.text;
}

function problem(text: string): { kind: string; line: number; message: string } {
  const r = renderFileTemplate(text, env);
  if (r.ok) assert.fail(`rendered: ${JSON.stringify(r.text)}`);
  return r.problem;
}

describe('Go templates in dynamic files', () => {
  it('reads the environment: env, default in both spellings, expandenv', () => {
    assert.equal(render('Host(`{{ env "DOMAIN" }}`)'), 'Host(`example.com`)');
    assert.equal(render('{{env "MISSING"}}|'), '|');
    assert.equal(render('{{ default "x.test" (env "EMPTY") }}'), 'x.test');
    assert.equal(render('{{ env "MISSING" | default "x.test" }}'), 'x.test');
    assert.equal(render('{{ env "DOMAIN" | default "x.test" }}'), 'example.com');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: os.ExpandEnv's ${VAR}, not a JavaScript placeholder
    assert.equal(render('{{ expandenv "a.${DOMAIN}/$DOMAIN" }}'), 'a.example.com/example.com');
  });

  it('renders if/else if/else, with, and range over lists, maps and integers', () => {
    const t = '{{ if eq (env "DOMAIN") "x" }}x{{ else if env "DOMAIN" }}set{{ else }}unset{{ end }}';
    assert.equal(render(t), 'set');
    assert.equal(render(t, {}), 'unset');
    assert.equal(render('{{ with env "DOMAIN" }}<{{ . }}>{{ else }}none{{ end }}'), '<example.com>');
    assert.equal(
      render('{{ range $i, $h := split (env "HOSTS") "," }}{{ $i }}={{ $h }};{{ end }}'),
      '0=a;1=b;2=c;',
    );
    assert.equal(render('{{ range list }}{{ . }}{{ else }}empty{{ end }}'), 'empty');
    assert.equal(render('{{ range $k, $v := dict "b" 2 "a" 1 }}{{ $k }}{{ $v }}{{ end }}'), 'a1b2');
    assert.equal(render('{{ range 3 }}{{ . }}{{ end }}'), '012');
    assert.equal(render('{{ range until 5 }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}'), '012');
    assert.equal(
      render('{{ range list 1 2 3 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}'),
      '13',
    );
  });

  it('keeps variables to their block, and $x = assigns the outer one', () => {
    assert.equal(
      render(
        '{{ $d := env "DOMAIN" }}{{ $n := 0 }}{{ range list 1 2 }}{{ $n = . }}{{ end }}{{ $d }} {{ $n }}',
      ),
      'example.com 2',
    );
    assert.equal(problem('{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}').message, 'undefined variable: $x');
  });

  it('trims around {{- and -}}, and drops comments', () => {
    assert.equal(render('a  \n  {{- "b" -}}  \n  c'), 'abc');
    assert.equal(render('a {{/* note */}} b {{- /* trimmed */ -}} c'), 'a  bc');
    assert.equal(render('{{ -1 }}'), '-1');
  });

  it('quotes as Go and sprig do', () => {
    assert.equal(render('{{ env "DOMAIN" | quote }}'), '"example.com"');
    assert.equal(render('{{ quote "a\\"b\\n" }}'), '"a\\"b\\n"');
    assert.equal(render('{{ squote "it" }}'), "'it'");
    assert.equal(render('{{ printf "%s:%d %q" "h" 80 "x" }}'), 'h:80 "x"');
    assert.equal(render('{{ "a.b" | replace "." "-" | upper }}'), 'A-B');
    assert.equal(render('{{ normalize "My App.v2" }}'), 'My-App-v2');
    assert.equal(render('{{ join "," (list "a" "b") }} {{ len "abc" }} {{ index (list 4 5) 1 }}'), 'a,b 3 5');
  });

  it('refuses constructs beyond the subset, naming them and their line', () => {
    const named = problem('a: 1\nb: {{ template "x" }}\n');
    assert.deepEqual([named.kind, named.line], ['unsupported', 2]);
    assert.match(named.message, /template/);
    const fn = problem('a: 1\n\nb: {{ regexReplaceAll "a" "b" "c" }}');
    assert.deepEqual([fn.kind, fn.line], ['unsupported', 3]);
    assert.match(fn.message, /function "regexReplaceAll" is not supported/);
    assert.equal(problem('{{ define "x" }}{{ end }}').kind, 'unsupported');
    assert.equal(problem('{{ printf "%5s" "a" }}').kind, 'unsupported');
  });

  it('reports template errors with their line', () => {
    assert.deepEqual(problem('a\n{{ if true }}b'), {
      kind: 'error',
      line: 2,
      message: '{{if}} without {{end}}',
    });
    assert.equal(problem('a\n\n{{ "x" ').line, 3);
    assert.equal(problem('{{ end }}').kind, 'error');
    assert.match(problem('{{ .Field }}').message, /can't evaluate field Field/);
    assert.match(problem('{{ fail "no domain" }}').message, /no domain/);
  });
});

describe('parseConfigFile with a template', () => {
  const origin = '/etc/berth/dynamic/app.yml';
  const text = [
    'http:', // 1
    '  routers:', // 2
    '{{- range $i, $h := splitList "," (env "HOSTS") }}', // 3
    '    r-{{ $h }}:', // 4
    '      rule: "Host(`{{ $h }}.{{ env "DOMAIN" }}`)"', // 5
    '      service: app', // 6
    '{{- end }}', // 7
    '  services:', // 8
    '    app:', // 9
    '      loadBalancer:', // 10
    '        servers:', // 11
    '          - url: http://10.0.0.1:80', // 12
    '    broken:', // 13
    '      loadBalancer: { servers: 5 }', // 14
  ].join('\n');

  it('renders first, then reads YAML; sources and errors point at the template lines', () => {
    const parsed = parseConfigFile(text, origin, { env });
    assert.equal(parsed.kind, 'ok');
    if (parsed.kind !== 'ok') return;
    assert.deepEqual(Object.keys(parsed.config.http.routers), ['r-a', 'r-b', 'r-c']);
    assert.equal(parsed.config.http.routers['r-b']?.rule, 'Host(`b.example.com`)');
    // Every router a range made points at the range body's line.
    assert.deepEqual(
      Object.values(parsed.sources.routers).map((s) => s.line),
      [4, 4, 4],
    );
    assert.equal(parsed.sources.services.app?.line, 9);
    const broken = parsed.errors.find((e) => e.path.startsWith('http.services.broken'));
    assert.equal(broken?.source?.line, 14, JSON.stringify(parsed.errors));
  });

  it('fails the file alone with BERTH_FILE_TEMPLATE_UNSUPPORTED, and YAML errors name the template line', () => {
    const bad = parseConfigFile('http:\n  routers: {{ tpl "x" . }}\n', origin, { env });
    assert.equal(bad.kind, 'invalid');
    if (bad.kind !== 'invalid') return;
    assert.equal(bad.error.code, ErrorCodes.FILE_TEMPLATE_UNSUPPORTED);
    assert.match(bad.error.message, /^\/etc\/berth\/dynamic\/app\.yml:2: Go template: function "tpl"/);
    // A value from the environment that breaks the YAML: the error is on the template's line 3.
    const yaml = parseConfigFile('{{/* header */}}\n\nhttp: {{ env "DOMAIN" }}: [\n', origin, { env });
    assert.equal(yaml.kind, 'invalid');
    if (yaml.kind === 'invalid') {
      assert.equal(yaml.error.code, ErrorCodes.FILE_PARSE);
      assert.equal(yaml.error.source?.line, 3);
    }
  });

  it('reads a template through the incremental reader the file provider uses, with its environment', () => {
    const reader = new IncrementalYamlFile(origin, env);
    const parsed = reader.parse(text);
    assert.equal(parsed.kind, 'ok');
    if (parsed.kind === 'ok')
      assert.deepEqual(Object.keys(parsed.config.http.routers), ['r-a', 'r-b', 'r-c']);
  });

  it('leaves files without {{ untouched', () => {
    const plain = 'http:\n  routers:\n    web:\n      rule: "Path(`/{x}`)"\n      service: app\n';
    assert.deepEqual(parseConfigFile(plain, origin, { env }), parseConfigFile(plain, origin, { env: {} }));
  });
});

const dir = corpusDir();
describe('the Go template files of the compatibility corpus', {
  skip: dir === undefined ? 'corpus not found (set BERTH_CORPUS_DIR)' : false,
}, () => {
  // 58 and 65 keep a v2 `{name:regex}` template in a rule: refused after rendering, on the rule's line.
  const cases: [string, Record<string, string>, string][] = [
    [
      '58-htpc-t3-domain-passthrough-v2-regexp.yml',
      { DOMAINNAME_DS918: 'nas.example.com' },
      'HostSNIRegexp(`nas.example.com`) || HostSNIRegexp(`{subdomain:[a-z]+}.nas.example.com`)',
    ],
    [
      '63-htpc-t3-proxmox-servers-transport.yml',
      { DOMAINNAME_HS: 'home.example.com' },
      'Host(`pve.home.example.com`)',
    ],
    [
      '64-htpc-t3-tautulli-headers-bypass.yml',
      { DOMAINNAME_HS: 'home.example.com' },
      'Host(`tautulli.home.example.com`)',
    ],
    [
      '65-htpc-t2-domain-passthrough-multiarg.yml',
      { DOMAINNAME_DS918: 'nas.example.com' },
      'HostSNIRegexp(`nas.example.com`, `{subdomain:[a-z]+}.nas.example.com`)',
    ],
  ];
  for (const [file, vars, rule] of cases) {
    it(`renders ${file} as Traefik does, lines unmoved`, () => {
      const path = join(dir as string, file);
      const text = readFileSync(path, 'utf8');
      const parsed = parseConfigFile(text, path, { env: vars });
      assert.equal(parsed.kind, 'ok');
      if (parsed.kind !== 'ok') return;
      const lines = text.split('\n');
      // HTTP routers, or TCP ones (58 and 65: v2 HostSNIRegexp templates, which Berth reads since v2 rule syntax).
      const router = [
        ...Object.entries(parsed.config.http.routers),
        ...Object.entries(parsed.config.tcp?.routers ?? {}),
      ][0];
      assert.ok(router, `a router in ${file}`);
      const [name, { rule: rendered }] = router;
      assert.equal(rendered, rule);
      const line = parsed.sources.routers[name]?.line ?? parsed.sources.tcpRouters?.[name]?.line;
      assert.equal(line, lines.findIndex((l) => l.trim() === `${name}:`) + 1);
    });
  }
});
