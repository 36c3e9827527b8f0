// PROXY protocol v1/v2: byte-exact encoding per haproxy's spec and an incremental, strict parser.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeProxyV1,
  encodeProxyV2,
  encodeProxyV2Local,
  formatIPv6,
  ipv6Bytes,
  looksLikeProxyHeader,
  PROXY_V2_SIGNATURE,
  type ProxyParse,
  parseProxyHeader,
} from '../src/tcp/proxy-protocol.js';
import { prng } from './support/prng.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Feeds `bytes` one at a time and returns the first answer that is not `more`. */
function byteByByte(bytes: Buffer): { answer: ProxyParse; fedBytes: number } {
  for (let n = 1; n <= bytes.length; n++) {
    const answer = parseProxyHeader(bytes.subarray(0, n));
    if (answer.kind !== 'more') return { answer, fedBytes: n };
  }
  return { answer: { kind: 'more' }, fedBytes: bytes.length };
}

describe('PROXY protocol encoders', () => {
  it('writes v1 TCP4 as the spec example', () => {
    const out = encodeProxyV1({ ip: '192.168.0.1', port: 56324 }, { ip: '192.168.0.11', port: 443 });
    assert.equal(out.toString('latin1'), 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n');
  });

  it('writes v1 TCP6 with compressed addresses and unmaps IPv4-mapped ends', () => {
    assert.equal(
      encodeProxyV1({ ip: '2001:DB8:0:0:0:0:0:1', port: 1 }, { ip: '::1', port: 2 }).toString(),
      'PROXY TCP6 2001:db8::1 ::1 1 2\r\n',
    );
    assert.equal(
      encodeProxyV1({ ip: '::ffff:10.0.0.1', port: 5 }, { ip: '::ffff:10.0.0.2', port: 6 }).toString(),
      'PROXY TCP4 10.0.0.1 10.0.0.2 5 6\r\n',
    );
    assert.equal(
      encodeProxyV1({ ip: '10.0.0.1', port: 5 }, { ip: '::1', port: 6 }).toString(),
      'PROXY TCP6 ::ffff:a00:1 ::1 5 6\r\n',
    );
    assert.equal(
      encodeProxyV1({ ip: 'nope', port: 5 }, { ip: '::1', port: 6 }).toString(),
      'PROXY UNKNOWN\r\n',
    );
  });

  it('writes v2 TCP over IPv4 byte for byte', () => {
    const out = encodeProxyV2({ ip: '127.0.0.1', port: 50000 }, { ip: '10.1.2.3', port: 443 });
    assert.deepEqual(out, hex('0d0a0d0a000d0a515549540a 21 11 000c 7f000001 0a010203 c350 01bb'));
  });

  it('writes v2 TCP over IPv6 and LOCAL byte for byte', () => {
    const out = encodeProxyV2({ ip: '2001:db8::1', port: 1 }, { ip: '::1', port: 2 });
    assert.deepEqual(
      out,
      hex(
        `0d0a0d0a000d0a515549540a 21 21 0024
         20010db8000000000000000000000001 00000000000000000000000000000001 0001 0002`,
      ),
    );
    assert.deepEqual(encodeProxyV2Local(), hex('0d0a0d0a000d0a515549540a 20 00 0000'));
  });

  it('round-trips IPv6 text through bytes in RFC 5952 form', () => {
    for (const [input, want] of [
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::1:0:0:2', 'fe80::1:0:0:2'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['::ffff:1.2.3.4', '::ffff:102:304'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ] as const) {
      assert.equal(formatIPv6(ipv6Bytes(input)!), want, input);
    }
  });
});

describe('PROXY protocol parser', () => {
  it('parses a v1 header delivered one byte at a time and returns the bytes after it', () => {
    const bytes = Buffer.concat([
      Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n'),
      Buffer.from('GET / HTTP/1.1'),
    ]);
    const { answer, fedBytes } = byteByByte(bytes);
    assert.equal(answer.kind, 'header');
    assert.equal(fedBytes, 38);
    const full = parseProxyHeader(bytes);
    assert.ok(full.kind === 'header');
    assert.deepEqual(full.header.source, { ip: '1.2.3.4', port: 1111 });
    assert.deepEqual(full.header.destination, { ip: '5.6.7.8', port: 2222 });
    assert.equal(full.rest.toString(), 'GET / HTTP/1.1');
    assert.equal(full.header.length, 38);
  });

  it('parses v1 TCP6 and UNKNOWN', () => {
    const six = parseProxyHeader(Buffer.from('PROXY TCP6 2001:DB8::1 ::1 1 65535\r\n'));
    assert.ok(six.kind === 'header');
    assert.deepEqual(six.header.source, { ip: '2001:db8::1', port: 1 });
    const unknown = parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff::1 ::1 1 2\r\nrest'));
    assert.ok(unknown.kind === 'header');
    assert.equal(unknown.header.family, 'unspec');
    assert.equal(unknown.header.source, undefined);
    assert.equal(unknown.rest.toString(), 'rest');
  });

  it('refuses broken v1 headers', () => {
    for (const text of [
      'PROXY TCP4 1.2.3.4 5.6.7.8 1111\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1111 99999\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n',
      'PROXY TCP4 ::1 5.6.7.8 1 2\r\n',
      'PROXY TCP6 1.2.3.4 ::1 1 2\r\n',
      'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n',
      'PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n',
      `PROXY TCP4 ${'1'.repeat(120)}`,
    ]) {
      assert.equal(parseProxyHeader(Buffer.from(text)).kind, 'error', JSON.stringify(text));
    }
  });

  it('parses v2 IPv4 and IPv6 byte by byte, skipping TLVs', () => {
    const tlv = hex('01 0002 6832 04 0000'); // ALPN "h2", NOOP of length 0
    const v4 = encodeProxyV2({ ip: '9.8.7.6', port: 1234 }, { ip: '1.2.3.4', port: 443 });
    v4.writeUInt16BE(12 + tlv.length, 14);
    const bytes = Buffer.concat([v4, tlv, Buffer.from('hello')]);
    const { answer, fedBytes } = byteByByte(bytes);
    assert.equal(fedBytes, 16 + 12 + tlv.length);
    assert.ok(answer.kind === 'header');
    assert.deepEqual(answer.header.source, { ip: '9.8.7.6', port: 1234 });
    assert.equal(parseProxyHeader(bytes).kind === 'header' && parseProxyHeader(bytes).kind, 'header');
    const full = parseProxyHeader(bytes);
    assert.ok(full.kind === 'header');
    assert.equal(full.rest.toString(), 'hello');

    const v6 = parseProxyHeader(encodeProxyV2({ ip: 'fe80::5', port: 7 }, { ip: '::1', port: 8 }));
    assert.ok(v6.kind === 'header');
    assert.equal(v6.header.family, 'tcp6');
    assert.deepEqual(v6.header.source, { ip: 'fe80::5', port: 7 });
    assert.deepEqual(v6.header.destination, { ip: '::1', port: 8 });
  });

  it('parses v2 LOCAL, UNSPEC and UNIX', () => {
    const local = parseProxyHeader(Buffer.concat([encodeProxyV2Local(), Buffer.from('x')]));
    assert.ok(local.kind === 'header');
    assert.equal(local.header.command, 'local');
    assert.equal(local.rest.toString(), 'x');

    // LOCAL with an address block: the block is skipped, addresses ignored.
    const localWithBody = Buffer.concat([PROXY_V2_SIGNATURE, hex('20 11 000c'), Buffer.alloc(12, 1)]);
    const lb = parseProxyHeader(localWithBody);
    assert.ok(lb.kind === 'header');
    assert.equal(lb.header.command, 'local');
    assert.equal(lb.header.source, undefined);

    const unspec = parseProxyHeader(Buffer.concat([PROXY_V2_SIGNATURE, hex('21 00 0000')]));
    assert.ok(unspec.kind === 'header');
    assert.equal(unspec.header.family, 'unspec');

    const unix = Buffer.alloc(216);
    unix.write('/run/a.sock', 0);
    unix.write('/run/b.sock', 108);
    const u = parseProxyHeader(Buffer.concat([PROXY_V2_SIGNATURE, hex('21 31 00d8'), unix]));
    assert.ok(u.kind === 'header');
    assert.equal(u.header.family, 'unix-stream');
    assert.equal(u.header.sourcePath, '/run/a.sock');
    assert.equal(u.header.destinationPath, '/run/b.sock');
  });

  it('refuses broken v2 headers and enforces the size limit', () => {
    const cases: Buffer[] = [
      Buffer.concat([PROXY_V2_SIGNATURE, hex('11 11 000c'), Buffer.alloc(12)]), // version 1
      Buffer.concat([PROXY_V2_SIGNATURE, hex('22 11 000c'), Buffer.alloc(12)]), // command 2
      Buffer.concat([PROXY_V2_SIGNATURE, hex('21 41 000c'), Buffer.alloc(12)]), // family 4
      Buffer.concat([PROXY_V2_SIGNATURE, hex('21 21 000c'), Buffer.alloc(12)]), // IPv6 in 12 bytes
      Buffer.concat([PROXY_V2_SIGNATURE, hex('21 11 ffff')]), // 64 KiB over the default limit
    ];
    for (const bytes of cases) assert.equal(parseProxyHeader(bytes).kind, 'error', bytes.toString('hex'));
    assert.equal(
      parseProxyHeader(Buffer.concat([PROXY_V2_SIGNATURE, hex('21 11 0100')]), { maxV2Length: 16 + 256 })
        .kind,
      'more',
    );
    // The version nibble is checked as soon as it arrives.
    assert.equal(parseProxyHeader(Buffer.concat([PROXY_V2_SIGNATURE, hex('31')])).kind, 'error');
  });

  it('says none for other protocols and more for prefixes of a signature', () => {
    assert.equal(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'none');
    assert.equal(parseProxyHeader(hex('1603010200')).kind, 'none');
    assert.equal(parseProxyHeader(Buffer.from('PROX')).kind, 'more');
    assert.equal(parseProxyHeader(Buffer.from('PROXIMITY')).kind, 'none');
    assert.equal(parseProxyHeader(PROXY_V2_SIGNATURE.subarray(0, 5)).kind, 'more');
    assert.equal(parseProxyHeader(Buffer.alloc(0)).kind, 'more');
    assert.equal(looksLikeProxyHeader(Buffer.from('PROXY ')), true);
    assert.equal(looksLikeProxyHeader(PROXY_V2_SIGNATURE.subarray(0, 3)), true);
    assert.equal(looksLikeProxyHeader(Buffer.from('SSH-2.0')), false);
  });
});

describe('PROXY protocol parser on hostile input', () => {
  it('never throws on mutated v1 and v2 headers, and never claims more bytes than it was given', () => {
    const random = prng(20261125);
    const byte = () => Math.floor(random() * 256);
    const samples = [
      encodeProxyV1({ ip: '203.0.113.7', port: 5555 }, { ip: '10.0.0.1', port: 443 }),
      encodeProxyV2({ ip: '203.0.113.7', port: 5555 }, { ip: '10.0.0.1', port: 443 }),
      encodeProxyV2({ ip: '2001:db8::1', port: 1 }, { ip: '2001:db8::2', port: 2 }),
    ];
    for (let i = 0; i < 5000; i++) {
      const base = samples[i % samples.length]!;
      const mutated = Buffer.concat([base, Buffer.from('GET / HTTP/1.1\r\n')]);
      const edits = 1 + Math.floor(random() * 4);
      for (let k = 0; k < edits; k++) mutated[Math.floor(random() * mutated.length)] = byte();
      const cut = mutated.subarray(0, Math.floor(random() * (mutated.length + 1)));
      const answer = parseProxyHeader(cut);
      assert.ok(['none', 'more', 'header', 'error'].includes(answer.kind), answer.kind);
      if (answer.kind === 'header') assert.ok(answer.header.length <= cut.length);
    }
  });
});
