// RESP2: commands encoded as Redis reads them, replies parsed however the bytes are split.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readReply } from '../src/http/middlewares/redis-token-bucket.js';
import { parseEndpoint } from '../src/redis/redis-client.js';
import { encodeCommand, RedisReplyError, RespParser, RespProtocolError } from '../src/redis/resp.js';

describe('RESP2 encoding', () => {
  it('writes a command as an array of bulk strings, counting bytes, not characters', () => {
    assert.equal(
      encodeCommand(['EVALSHA', 'ab', 1, 'rate:é']).toString('utf8'),
      '*4\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n1\r\n$7\r\nrate:é\r\n',
    );
  });

  it('writes an empty argument as a zero-length bulk string', () => {
    assert.equal(encodeCommand(['SET', '']).toString(), '*2\r\n$3\r\nSET\r\n$0\r\n\r\n');
  });
});

describe('RESP2 parsing', () => {
  it('reads simple strings, errors, integers, bulk strings, nulls and nested arrays', () => {
    const p = new RespParser();
    const replies = p.push(
      Buffer.from(
        '+OK\r\n-NOSCRIPT No matching script\r\n:42\r\n$5\r\nhe\r\no\r\n$-1\r\n*-1\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n',
      ),
    );
    assert.equal(replies.length, 7);
    assert.equal(replies[0], 'OK');
    assert.ok(replies[1] instanceof RedisReplyError);
    assert.equal((replies[1] as RedisReplyError).kind, 'NOSCRIPT');
    assert.equal(replies[2], 42);
    assert.equal(replies[3], 'he\r\no', 'a bulk string is read by its length, CRLF inside included');
    assert.equal(replies[4], null);
    assert.equal(replies[5], null);
    assert.deepEqual(replies[6], [[1], '']);
    assert.equal(p.pending, 0);
  });

  it('waits for the rest of a reply split anywhere, one byte at a time', () => {
    const wire = Buffer.from('*3\r\n$4\r\ntrue\r\n$3\r\n0.5\r\n$-1\r\n:-7\r\n');
    const p = new RespParser();
    const got = [];
    for (const byte of wire) got.push(...p.push(Buffer.from([byte])));
    assert.deepEqual(got, [['true', '0.5', null], -7]);
    assert.equal(p.pending, 0);
  });

  it('refuses bytes that are not RESP2 rather than guessing', () => {
    assert.throws(() => new RespParser().push(Buffer.from('%1\r\n')), RespProtocolError);
    assert.throws(() => new RespParser().push(Buffer.from(':12a\r\n')), RespProtocolError);
    assert.throws(() => new RespParser().push(Buffer.from('$3\r\nabcd\r\n')), RespProtocolError);
    assert.throws(() => new RespParser().push(Buffer.from('$-5\r\n')), RespProtocolError);
  });
});

describe('Redis endpoints and script replies', () => {
  it('reads host:port, [v6]:port and a bare host (port 6379)', () => {
    assert.deepEqual(parseEndpoint('redis.internal:6380'), { host: 'redis.internal', port: 6380 });
    assert.deepEqual(parseEndpoint('[::1]:7000'), { host: '::1', port: 7000 });
    assert.deepEqual(parseEndpoint('localhost'), { host: 'localhost', port: 6379 });
    assert.equal(parseEndpoint('a:b:c'), null);
    assert.equal(parseEndpoint('host:70000'), null);
  });

  it("reads Traefik's script reply: a wait means refused, none means allowed", () => {
    assert.deepEqual(readReply(['true', '0', '4']), { ok: true });
    assert.deepEqual(readReply(['true', '250000', '-0.25']), { ok: false, waitMs: 250 });
    assert.throws(() => readReply('OK'));
  });
});
