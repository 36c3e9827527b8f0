// Runs `openssl s_client` against a loopback port and reads what it negotiated.
import { spawn } from 'node:child_process';

export interface SClientResult {
  /** The handshake completed. */
  ok: boolean;
  protocol: string | undefined;
  cipher: string | undefined;
  /** `Reused` on a resumed session. */
  reused: boolean;
  /** The server certificate's subject CN. */
  subjectCn: string | undefined;
  alpn: string | undefined;
  /** A stapled OCSP response with status `successful` was shown. */
  ocspStapled: boolean;
  output: string;
}

/** `args` are extra s_client flags (`-servername`, `-tls1_2`, `-cipher`, `-sess_out`...). */
export function sClient(port: number, args: string[], timeoutMs = 8000): Promise<SClientResult> {
  return new Promise((resolve) => {
    // stdin at EOF and -ign_eof: read until the server closes, so TLS 1.3 tickets arrive.
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-ign_eof', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill(), timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      const m = (re: RegExp) => re.exec(output)?.[1];
      const cipher = m(/Cipher is (\S+)/);
      resolve({
        ok: cipher !== undefined && cipher !== '(NONE)' && cipher !== '0000',
        protocol: m(/Protocol\s*:\s*(TLSv[\d.]+)/),
        cipher,
        reused: /^Reused,/m.test(output),
        subjectCn: m(/subject=.*?CN ?= ?([^,\n]+)/),
        alpn: m(/ALPN protocol: (\S+)/),
        ocspStapled: /OCSP Response Status: successful/.test(output),
        output,
      });
    });
  });
}
