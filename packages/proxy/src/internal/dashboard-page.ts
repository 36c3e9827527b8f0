// The dashboard a node serves at `/dashboard/`: one static page and its script reading `../api/...`;
// no CDN, no build step, every value written as text (rules and names are user input).

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Berth node</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin-top: 1.5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f4f4f4; } code { font-size: 12px; }
.disabled { color: #b00; } .muted { color: #777; }
</style>
</head>
<body>
<h1>Berth node <span class="muted" id="version"></span></h1>
<p class="muted">Read-only view of this node's applied configuration (secrets redacted). <span id="error" class="disabled"></span></p>
<div id="sections"></div>
<script src="dashboard.js"></script>
</body>
</html>
`;

export const DASHBOARD_JS = `'use strict';
(function () {
  var api = new URL('../api/', location.href);
  function get(path) {
    return fetch(new URL(path, api)).then(function (r) {
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return r.json();
    });
  }
  function cell(row, value, tag) {
    var td = document.createElement(tag || 'td');
    td.textContent = Array.isArray(value) ? value.join(', ') : value === undefined ? '' : String(value);
    row.appendChild(td);
    return td;
  }
  function table(title, items, columns) {
    var root = document.getElementById('sections');
    var h = document.createElement('h2');
    h.textContent = title + ' (' + items.length + ')';
    root.appendChild(h);
    if (items.length === 0) return;
    var t = document.createElement('table');
    var head = document.createElement('tr');
    columns.forEach(function (c) { cell(head, c[0], 'th'); });
    t.appendChild(head);
    items.forEach(function (item) {
      var tr = document.createElement('tr');
      if (item.status === 'disabled') tr.className = 'disabled';
      columns.forEach(function (c) { cell(tr, c[1](item)); });
      t.appendChild(tr);
    });
    root.appendChild(t);
  }
  function servers(s) {
    var status = s.serverStatus || {};
    return Object.keys(status).map(function (u) { return u + ' ' + status[u]; });
  }
  Promise.all([
    get('version'), get('entrypoints'), get('http/routers'), get('http/services'),
    get('http/middlewares'), get('tcp/routers'), get('tcp/services')
  ]).then(function (r) {
    document.getElementById('version').textContent = r[0].Version;
    table('Entry points', r[1], [['Name', function (e) { return e.name; }], ['Address', function (e) { return e.address; }]]);
    table('HTTP routers', r[2], [
      ['Name', function (e) { return e.name; }], ['Rule', function (e) { return e.rule; }],
      ['Entry points', function (e) { return e.using; }], ['Middlewares', function (e) { return e.middlewares; }],
      ['Service', function (e) { return e.service; }], ['Status', function (e) { return e.status + (e.error ? ': ' + e.error.join('; ') : ''); }]
    ]);
    table('HTTP services', r[3], [
      ['Name', function (e) { return e.name; }], ['Type', function (e) { return e.type; }],
      ['Servers', servers], ['Used by', function (e) { return e.usedBy; }]
    ]);
    table('HTTP middlewares', r[4], [
      ['Name', function (e) { return e.name; }], ['Type', function (e) { return e.type; }], ['Used by', function (e) { return e.usedBy; }]
    ]);
    table('TCP routers', r[5], [
      ['Name', function (e) { return e.name; }], ['Rule', function (e) { return e.rule; }],
      ['Entry points', function (e) { return e.using; }], ['Service', function (e) { return e.service; }]
    ]);
    table('TCP services', r[6], [
      ['Name', function (e) { return e.name; }], ['Type', function (e) { return e.type; }], ['Used by', function (e) { return e.usedBy; }]
    ]);
  }).catch(function (err) {
    document.getElementById('error').textContent = String(err.message || err);
  });
})();
`;
