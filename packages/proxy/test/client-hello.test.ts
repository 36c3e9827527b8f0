// ClientHello peek: SNI and ALPN from real ClientHellos, over split segments and split records, and strict about garbage.
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { type ClientHelloParse, parseClientHello } from '../src/tcp/client-hello.js';

/** The first flight a real Node TLS client sends. */
async function captureHello(options: { servername?: string; alpn?: string[] }): Promise<Buffer> {
  const server = createServer();
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (socket: Socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (all.length >= 5 && all.length >= 5 + all.readUInt16BE(3)) {
          socket.destroy();
          resolve(all);
        }
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = connect({
    port,
    host: '127.0.0.1',
    ...(options.servername !== undefined ? { servername: options.servername } : {}),
    ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
  });
  client.on('error', () => {});
  const bytes = await got;
  client.destroy();
  server.close();
  return bytes;
}

/** Re-splits the handshake bytes of single-record `hello` into records of `size` bytes. */
function reRecord(hello: Buffer, size: number): Buffer {
  const body = hello.subarray(5);
  const records: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const part = body.subarray(i, i + size);
    const head = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    head.writeUInt16BE(part.length, 3);
    records.push(head, part);
  }
  return Buffer.concat(records);
}

function firstAnswer(bytes: Buffer): { answer: ClientHelloParse; fed: number } {
  for (let n = 1; n <= bytes.length; n++) {
    const answer = parseClientHello(bytes.subarray(0, n));
    if (answer.kind !== 'more') return { answer, fed: n };
  }
  return { answer: { kind: 'more' }, fed: bytes.length };
}

describe('ClientHello parser', () => {
  let hello: Buffer;
  let bare: Buffer;
  before(async () => {
    hello = await captureHello({ servername: 'Api.Example.COM.', alpn: ['h2', 'http/1.1'] });
    bare = await captureHello({ servername: '' });
  });
  after(() => {});

  it('extracts the SNI (lower-case, no trailing dot) and the ALPN list in order', () => {
    const answer = parseClientHello(hello);
    assert.ok(answer.kind === 'hello', JSON.stringify(answer));
    assert.equal(answer.serverName, 'api.example.com');
    assert.deepEqual(answer.alpn, ['h2', 'http/1.1']);
  });

  it('gives empty SNI and ALPN when the client sent neither', () => {
    const answer = parseClientHello(bare);
    assert.ok(answer.kind === 'hello');
    assert.equal(answer.serverName, '');
    assert.deepEqual(answer.alpn, []);
  });

  it('needs more bytes until the last byte of a ClientHello fed one byte at a time', () => {
    const { answer, fed } = firstAnswer(hello);
    assert.equal(answer.kind, 'hello');
    assert.equal(fed, hello.length);
  });

  it('reassembles a ClientHello spread over many small TLS records', () => {
    for (const size of [1, 3, 7, 100]) {
      const split = reRecord(hello, size);
      const { answer, fed } = firstAnswer(split);
      assert.ok(answer.kind === 'hello', `records of ${size}`);
      assert.equal(answer.serverName, 'api.example.com');
      assert.equal(fed, split.length);
    }
  });

  it('says not-tls for plain protocols from the first byte or two', () => {
    assert.equal(parseClientHello(Buffer.from('G')).kind, 'not-tls');
    assert.equal(parseClientHello(Buffer.from('SSH-2.0-OpenSSH')).kind, 'not-tls');
    assert.equal(parseClientHello(Buffer.from([0x16, 0x02])).kind, 'not-tls');
    assert.equal(parseClientHello(Buffer.from([0x16])).kind, 'more');
    assert.equal(parseClientHello(Buffer.alloc(0)).kind, 'more');
  });

  it('says malformed for broken handshakes, whatever the split', () => {
    const notHello = Buffer.from(hello);
    notHello[5] = 0x02; // ServerHello
    assert.equal(parseClientHello(notHello).kind, 'malformed');
    const alert = Buffer.concat([
      reRecord(hello, 10).subarray(0, 15),
      Buffer.from([0x15, 0x03, 0x03, 0, 2, 2, 40]),
    ]);
    assert.equal(parseClientHello(alert).kind, 'malformed');
    const truncated = Buffer.from(hello);
    truncated.writeUIntBE(40, 6, 3); // handshake length too short for its content
    truncated.writeUInt16BE(44, 3);
    assert.equal(parseClientHello(truncated.subarray(0, 49)).kind, 'malformed');
    const zeroRecord = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    assert.equal(parseClientHello(zeroRecord).kind, 'malformed');
  });

  it('refuses a ClientHello over the size limit as soon as its length is known', () => {
    const big = Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x01, 0x00, 0x00]);
    assert.equal(parseClientHello(big).kind, 'malformed');
    assert.equal(parseClientHello(hello, 64).kind, 'malformed');
  });

  it('never throws on random garbage that starts like a handshake', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let i = 0; i < 2000; i++) {
      const mutated = Buffer.from(hello);
      for (let k = 0; k < 4; k++) mutated[5 + ((rand() * 7 + rand()) % (mutated.length - 5))] = rand();
      const answer = parseClientHello(mutated);
      assert.ok(['hello', 'malformed', 'more'].includes(answer.kind));
    }
  });
});
