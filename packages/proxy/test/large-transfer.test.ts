// 1 GiB streamed through the proxy each way, byte-exact, generated on the fly and never held in memory.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

const GIB = 1024 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/** Generous: a few seconds is normal, this only stops a stuck transfer from hanging the suite. */
const TIMEOUT_MS = 120_000;

const template = randomBytes(CHUNK);

/**
 * `size` bytes made of a random 1 MiB block stamped with the chunk number, so a dropped,
 * repeated or reordered chunk changes the hash.
 */
function source(size: number, onChunk: (chunk: Buffer) => void): Readable {
  let index = 0;
  let left = size;
  return new Readable({
    highWaterMark: 4 * CHUNK,
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const length = Math.min(CHUNK, left);
      const chunk = Buffer.allocUnsafe(length);
      template.copy(chunk, 0, 0, length);
      chunk.writeUInt32BE(index++, 0);
      left -= length;
      onChunk(chunk);
      this.push(chunk);
    },
  });
}

interface Digest {
  bytes: number;
  sha1: string;
}

async function digest(stream: AsyncIterable<Buffer>): Promise<Digest> {
  const hash = createHash('sha1');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha1: hash.digest('hex') };
}

describe('large transfers', { timeout: 2 * TIMEOUT_MS }, () => {
  it('streams a 1 GiB upload byte-exact', { timeout: TIMEOUT_MS }, async () => {
    const server = await backendFor(cleanups, 'sink', (req, res) => {
      void digest(req).then((d) => res.end(JSON.stringify(d)));
    });
    const port = await applied(
      planeFor(cleanups),
      body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(server.url) }),
    );
    const sent = createHash('sha1');
    const started = Date.now();
    const reply = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: '/upload',
          headers: { 'content-length': String(GIB) },
          agent: false,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (s: string) => {
            text += s;
          });
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      pipeline(
        source(GIB, (c) => sent.update(c)),
        req,
      ).catch(reject);
    });
    const received = JSON.parse(reply) as Digest;
    assert.deepEqual(received, { bytes: GIB, sha1: sent.digest('hex') });
    process.stderr.write(`# 1 GiB upload through the proxy: ${Date.now() - started} ms\n`);
  });

  it('streams a 1 GiB download byte-exact', { timeout: TIMEOUT_MS }, async () => {
    const expected = createHash('sha1');
    const server = await backendFor(cleanups, 'source', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': GIB });
      pipeline(
        source(GIB, (c) => expected.update(c)),
        res,
      ).catch(() => {});
    });
    const port = await applied(
      planeFor(cleanups),
      body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(server.url) }),
    );
    const started = Date.now();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/download', agent: false }, resolve)
        .on('error', reject)
        .end();
    });
    assert.equal(res.headers['content-length'], String(GIB));
    const got = await digest(res);
    assert.deepEqual(got, { bytes: GIB, sha1: expected.digest('hex') });
    process.stderr.write(`# 1 GiB download through the proxy: ${Date.now() - started} ms\n`);
  });
});
