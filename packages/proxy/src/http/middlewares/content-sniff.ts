// Go's http.DetectContentType (net/http/sniff.go, the WHATWG algorithm) on the first 512 bytes of a body.

const WS = new Set([0x09, 0x0a, 0x0c, 0x0d, 0x20]);

const HTML_TAGS = [
  '<!DOCTYPE HTML',
  '<HTML',
  '<HEAD',
  '<SCRIPT',
  '<IFRAME',
  '<H1',
  '<DIV',
  '<FONT',
  '<TABLE',
  '<A',
  '<STYLE',
  '<TITLE',
  '<B',
  '<BODY',
  '<BR',
  '<P',
  '<!--',
].map((tag) => Buffer.from(tag, 'latin1'));

type Sig = { prefix: number[]; mask?: number[]; type: string };

const bytes = (text: string): number[] => [...Buffer.from(text, 'latin1')];
/** `RIFF` + 4 bytes of size + a form type. */
const riff = (form: string, type: string): Sig => ({
  prefix: [...bytes('RIFF'), 0, 0, 0, 0, ...bytes(form)],
  mask: [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, ...bytes(form).map(() => 0xff)],
  type,
});

/** In Go's order, after the HTML and XML checks and before the text check. */
const EXACT: readonly Sig[] = [
  { prefix: bytes('%PDF-'), type: 'application/pdf' },
  { prefix: bytes('%!PS-Adobe-'), type: 'application/postscript' },
  { prefix: [0xfe, 0xff, 0, 0], mask: [0xff, 0xff, 0, 0], type: 'text/plain; charset=utf-16be' },
  { prefix: [0xff, 0xfe, 0, 0], mask: [0xff, 0xff, 0, 0], type: 'text/plain; charset=utf-16le' },
  { prefix: [0xef, 0xbb, 0xbf, 0], mask: [0xff, 0xff, 0xff, 0], type: 'text/plain; charset=utf-8' },
  { prefix: [0, 0, 1, 0], type: 'image/x-icon' },
  { prefix: [0, 0, 2, 0], type: 'image/x-icon' },
  { prefix: bytes('BM'), type: 'image/bmp' },
  { prefix: bytes('GIF87a'), type: 'image/gif' },
  { prefix: bytes('GIF89a'), type: 'image/gif' },
  riff('WEBPVP', 'image/webp'),
  { prefix: [0x89, ...bytes('PNG'), 0x0d, 0x0a, 0x1a, 0x0a], type: 'image/png' },
  { prefix: [0xff, 0xd8, 0xff], type: 'image/jpeg' },
  {
    prefix: [...bytes('FORM'), 0, 0, 0, 0, ...bytes('AIFF')],
    mask: [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
    type: 'audio/aiff',
  },
  { prefix: bytes('ID3'), type: 'audio/mpeg' },
  { prefix: [...bytes('OggS'), 0], type: 'application/ogg' },
  { prefix: [...bytes('MThd'), 0, 0, 0, 6], type: 'audio/midi' },
  riff('AVI ', 'video/avi'),
  riff('WAVE', 'audio/wave'),
  { prefix: [0x1a, 0x45, 0xdf, 0xa3], type: 'video/webm' },
  { prefix: [0x00, 0x01, 0x00, 0x00], type: 'font/ttf' },
  { prefix: bytes('OTTO'), type: 'font/otf' },
  { prefix: bytes('ttcf'), type: 'font/collection' },
  { prefix: bytes('wOFF'), type: 'font/woff' },
  { prefix: bytes('wOF2'), type: 'font/woff2' },
  { prefix: [0x1f, 0x8b, 0x08], type: 'application/x-gzip' },
  { prefix: [...bytes('PK'), 3, 4], type: 'application/zip' },
  { prefix: [...bytes('Rar!'), 0x1a, 0x07, 0x00], type: 'application/x-rar-compressed' },
  { prefix: [...bytes('Rar!'), 0x1a, 0x07, 0x01, 0x00], type: 'application/x-rar-compressed' },
  { prefix: [0x00, 0x61, 0x73, 0x6d], type: 'application/wasm' },
];

function matches(data: Buffer, sig: Sig): boolean {
  if (data.length < sig.prefix.length) return false;
  for (let i = 0; i < sig.prefix.length; i++) {
    const mask = sig.mask?.[i] ?? 0xff;
    if ((data[i]! & mask) !== sig.prefix[i]) return false;
  }
  return true;
}

function startsWithTag(data: Buffer, at: number, tag: Buffer): boolean {
  if (data.length - at < tag.length + 1) return false;
  for (let i = 0; i < tag.length; i++) {
    let b = data[at + i]!;
    const t = tag[i]!;
    // Letters compare case-insensitively.
    if (t >= 0x41 && t <= 0x5a) b &= 0xdf;
    if (b !== t) return false;
  }
  const end = data[at + tag.length]!;
  return end === 0x20 || end === 0x3e;
}

/**
 * The MIME type Go would give `body` (at most its first 512 bytes are read). Go's table, MP4
 * aside (reported as binary or text like any other unknown signature).
 */
export function detectContentType(body: Buffer): string {
  const data = body.subarray(0, 512);
  let at = 0;
  while (at < data.length && WS.has(data[at]!)) at++;
  for (const tag of HTML_TAGS) if (startsWithTag(data, at, tag)) return 'text/html; charset=utf-8';
  if (data.subarray(at, at + 5).toString('latin1') === '<?xml') return 'text/xml; charset=utf-8';
  for (const sig of EXACT) if (matches(data, sig)) return sig.type;
  for (const b of data) {
    if (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f))
      return 'application/octet-stream';
  }
  return 'text/plain; charset=utf-8';
}
