// contentType: Go's sniffing table, and a real node adding a type only where the middleware is and the upstream set none.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { detectContentType } from '../src/http/middlewares/content-sniff.js';
import { call } from './support/client.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

describe('contentType', () => {
  it('sniffs as Go’s http.DetectContentType does', () => {
    const cases: [Buffer | string, string][] = [
      ['  <!DOCTYPE html><html></html>', 'text/html; charset=utf-8'],
      ['<p>x</p>', 'text/html; charset=utf-8'],
      ['<pre>', 'text/plain; charset=utf-8'],
      ['<?xml version="1.0"?><a/>', 'text/xml; charset=utf-8'],
      ['%PDF-1.7', 'application/pdf'],
      [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]), 'image/png'],
      [Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 'image/jpeg'],
      ['GIF89a...', 'image/gif'],
      [Buffer.from([0x1f, 0x8b, 0x08, 0]), 'application/x-gzip'],
      [Buffer.from('RIFF\0\0\0\0WEBPVP8 '), 'image/webp'],
      ['{"json": true}', 'text/plain; charset=utf-8'],
      [Buffer.from([1, 2, 3]), 'application/octet-stream'],
    ];
    for (const [data, want] of cases) {
      assert.equal(detectContentType(Buffer.isBuffer(data) ? data : Buffer.from(data)), want, String(data));
    }
  });

  it('adds a sniffed type only behind the middleware, keeps an upstream type, and leaves autoDetect: false alone', async () => {
    const backend = await backendFor(cleanups, 'app', (req, res) => {
      if (req.url === '/typed') res.setHeader('content-type', 'application/x-mine');
      if (req.url === '/stream') {
        res.write('<html><body>');
        setTimeout(() => res.end('streamed</body></html>'), 20);
        return;
      }
      if (req.url === '/empty') {
        res.end();
        return;
      }
      res.end('<html>hello</html>');
    });
    const plane = planeFor(cleanups);
    const b = body(
      {
        sniff: { rule: 'Host(`sniff.test`)', service: 'app', middlewares: ['ct'] },
        off: { rule: 'Host(`off.test`)', service: 'app', middlewares: ['ctOff'] },
        plain: { rule: 'Host(`plain.test`)', service: 'app' },
      },
      { app: service(backend.url) },
    );
    b.http.middlewares = { ct: { contentType: {} }, ctOff: { contentType: { autoDetect: false } } };
    const port = await applied(plane, b);

    const sniffed = await call(port, { host: 'sniff.test' });
    assert.equal(sniffed.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(sniffed.body, '<html>hello</html>');
    const streamed = await call(port, { host: 'sniff.test', path: '/stream' });
    assert.equal(streamed.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(streamed.body, '<html><body>streamed</body></html>');
    const typed = await call(port, { host: 'sniff.test', path: '/typed' });
    assert.equal(typed.headers['content-type'], 'application/x-mine');
    const empty = await call(port, { host: 'sniff.test', path: '/empty' });
    assert.equal(empty.status, 200);
    assert.equal(empty.headers['content-type'], undefined, 'nothing to sniff');

    assert.equal(
      (await call(port, { host: 'plain.test' })).headers['content-type'],
      undefined,
      'Traefik v3 default',
    );
    assert.equal((await call(port, { host: 'off.test' })).headers['content-type'], undefined);
  });
});
