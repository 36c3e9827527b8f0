// An event-stream backend and a one-router TLS snapshot for it: what the HTTP/2 client-gone and liveness tests share.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EntryPoint, ResolvedCertificate } from '@berth/config';
import { CIPHER_PROFILES } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { service, body as snapshotBody } from './snapshot.js';

export interface StreamState {
  open: number;
  closed: number;
}

/**
 * `/events` never ends on its own (a comment every `tickMs`) and counts the requests it sees
 * close; anything else is answered at once.
 */
export function eventStream(state: StreamState, tickMs: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    req.resume();
    if (req.url !== '/events') {
      res.end('ok\n');
      return;
    }
    state.open++;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('data: hello\n\n');
    const tick = setInterval(() => res.write(': keep-alive\n\n'), tickMs);
    res.once('close', () => {
      clearInterval(tick);
      state.closed++;
    });
  };
}

/** Router `events` (Host `app.test`, TLS) to `url`, on entry point `web` with `entryPoint`'s settings. */
export function sseTlsBody(
  url: string,
  cert: ResolvedCertificate,
  entryPoint: Omit<EntryPoint, 'address'>,
): SnapshotBody {
  const b = snapshotBody(
    { events: { rule: 'Host(`app.test`)', service: 'sse', tls: {} } },
    { sse: service(url) },
  );
  b.entryPoints['web'] = { address: ':443', ...entryPoint };
  b.tls = {
    certificates: [cert],
    defaultCertificate: cert,
    options: {
      default: CIPHER_PROFILES.strict,
      strict: CIPHER_PROFILES.strict,
      compatible: CIPHER_PROFILES.compatible,
    },
    sessionTicketKeys: [Buffer.alloc(48, 7).toString('base64')],
  };
  return b;
}
