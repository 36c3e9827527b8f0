// The grpcWeb middleware's pure parts: trailer frame, base64 across chunk boundaries, the answer's head.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  Base64Decode,
  Base64Encode,
  canonical,
  trailerFrame,
  webHeaders,
} from '../src/http/middlewares/grpc-web.js';
import { normalizeTrailers } from '../src/http/upstream-trailers.js';

async function through(stream: Base64Decode | Base64Encode, chunks: (string | Buffer)[]): Promise<Buffer> {
  const out: Buffer[] = [];
  Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'latin1') : c))).pipe(stream);
  for await (const chunk of stream) out.push(Buffer.from(chunk as Buffer | string));
  return Buffer.concat(out);
}

describe('grpcWeb middleware parts', () => {
  it('writes the trailer frame as Go does: flag 0x80, length, sorted lower-case lines', () => {
    const frame = trailerFrame({ 'Grpc-Status': '0', 'grpc-message': 'ok' });
    const text = 'grpc-message: ok\r\ngrpc-status: 0\r\n';
    assert.deepEqual(frame.subarray(0, 5), Buffer.from([0x80, 0, 0, 0, text.length]));
    assert.equal(frame.subarray(5).toString(), text);
    assert.deepEqual(trailerFrame(undefined), Buffer.from([0x80, 0, 0, 0, 0]));
  });

  it('decodes base64 split anywhere, with padding ending a message mid-stream', async () => {
    const a = Buffer.from('first message');
    const b = Buffer.from('second');
    const text = a.toString('base64') + b.toString('base64');
    for (let cut = 1; cut < text.length; cut++) {
      const out = await through(new Base64Decode(), [text.slice(0, cut), text.slice(cut)]);
      assert.deepEqual(out, Buffer.concat([a, b]), `cut at ${cut}`);
    }
  });

  it('fails on characters that are not base64, and on a truncated group', async () => {
    await assert.rejects(through(new Base64Decode(), ['ab$d']));
    await assert.rejects(through(new Base64Decode(), ['abcde']));
  });

  it('encodes one base64 stream whatever the chunks', async () => {
    const bytes = Buffer.from('0123456789abcdefghij');
    for (let cut = 1; cut < bytes.length; cut++) {
      const out = await through(new Base64Encode(), [bytes.subarray(0, cut), bytes.subarray(cut)]);
      assert.equal(out.toString(), bytes.toString('base64'), `cut at ${cut}`);
    }
  });

  it('rewrites the head: gRPC-Web type, no length, Vary, CORS for an allowed origin, all exposed', () => {
    const head = webHeaders(
      { 'content-type': 'application/grpc+proto', 'content-length': '12', 'x-app': '1' },
      'application/grpc-web',
      'https://ui.test',
    );
    assert.equal(head['content-type'], 'application/grpc-web+proto');
    assert.equal(head['content-length'], undefined);
    assert.equal(head['vary'], 'Origin');
    assert.equal(head['access-control-allow-origin'], 'https://ui.test');
    assert.equal(
      head['access-control-expose-headers'],
      'X-App, Content-Type, Vary, Access-Control-Allow-Origin, Access-Control-Allow-Credentials, grpc-status, grpc-message',
    );
    const none = webHeaders({ 'content-type': 'application/grpc' }, 'application/grpc-web-text', undefined);
    assert.equal(none['content-type'], 'application/grpc-web-text');
    assert.equal(none['access-control-allow-origin'], undefined);
  });

  it("writes header names in Go's canonical case", () => {
    assert.equal(canonical('x-grpc-web'), 'X-Grpc-Web');
    assert.equal(canonical('CONTENT-TYPE'), 'Content-Type');
  });

  it('reads undici trailers in both shapes, minus forbidden fields', () => {
    assert.deepEqual(normalizeTrailers([Buffer.from('Grpc-Status'), Buffer.from('0'), 'te', 'x']), {
      'grpc-status': '0',
    });
    assert.deepEqual(normalizeTrailers({ 'grpc-status': '5', 'grpc-message': 'no', 'content-length': '1' }), {
      'grpc-status': '5',
      'grpc-message': 'no',
    });
    assert.equal(normalizeTrailers([]), undefined);
    assert.equal(normalizeTrailers(null), undefined);
  });
});
