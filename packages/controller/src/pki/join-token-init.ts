// `berth token init`: the controller's CA and join secret made ahead of its first start, so the
// token can be handed to an orchestrator (a Swarm secret) before any node or controller runs.
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseAddress } from '@berth/config';
import { formatToken, writeFileAtomic } from '@berth/protocol';
import { JoinSecrets } from '../distributor/join-secrets.js';
import { ensureControllerPki } from './controller-pki.js';

export interface InitJoinTokenResult {
  token: string;
  /** False when the data dir already held a CA: the token is the one the controller already uses. */
  createdCa: boolean;
}

/** A host as it goes into a URL: an IPv6 address in brackets. */
export const hostForUrl = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);

/** `wss://host:port` for an advertised address. */
export function nodesUrlFor(host: string, port: number): string {
  return `wss://${hostForUrl(host)}:${port}`;
}

/**
 * Creates what is missing of the CA, the controller certificate (naming the advertised host) and
 * the join secret in `dataDir`, writes `<dataDir>/join-token` (0600) and returns the token. A
 * controller started later on this data dir with the same `--advertise` hands out the same token.
 */
export async function initJoinToken(dataDirIn: string, advertise: string): Promise<InitJoinTokenResult> {
  const address = parseAddress(advertise);
  if (!address?.host || !address.port)
    throw new Error(`--advertise: '${advertise}' must be host:port, the address nodes dial`);
  const dataDir = resolve(dataDirIn);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const pki = await ensureControllerPki(dataDir, [address.host]);
  const secrets = await JoinSecrets.open(dataDir);
  const token = formatToken({
    url: nodesUrlFor(address.host, address.port),
    caFingerprint: pki.caFingerprint,
    secret: secrets.current,
  });
  await writeFileAtomic(join(dataDir, 'join-token'), `${token}\n`, 0o600);
  return { token, createdCa: pki.createdCa };
}
