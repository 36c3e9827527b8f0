// htpasswd lines for basicAuth: which hash formats Berth verifies, checked without ever echoing a hash.

export type HtpasswdFormat = 'bcrypt' | 'apr1' | 'sha1';

export type HtpasswdLine =
  | { ok: true; user: string; format: HtpasswdFormat }
  /** `user` is set when the line names one; `problem` never contains the password or hash. */
  | { ok: false; user?: string; problem: string };

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const APR1 = /^\$apr1\$[^$]{0,8}\$[./A-Za-z0-9]{22}$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;

export function parseHtpasswdLine(line: string): HtpasswdLine {
  const colon = line.indexOf(':');
  if (colon < 0) return { ok: false, problem: "is not in the form 'user:hash'" };
  const user = line.slice(0, colon);
  const hash = line.slice(colon + 1).trim();
  if (user.trim() === '') return { ok: false, problem: 'has an empty user name' };
  if (BCRYPT.test(hash)) return { ok: true, user, format: 'bcrypt' };
  if (APR1.test(hash)) return { ok: true, user, format: 'apr1' };
  if (SHA1.test(hash)) return { ok: true, user, format: 'sha1' };
  const why =
    hash.startsWith('$2') || hash.startsWith('$apr1$') || hash.startsWith('{SHA}')
      ? 'a malformed hash'
      : 'a password that is plain text or in an unsupported format';
  return {
    ok: false,
    user,
    problem: `has ${why} for user '${user}'; use bcrypt (htpasswd -nB), apr1 (htpasswd -nm) or SHA1 (htpasswd -ns)`,
  };
}
