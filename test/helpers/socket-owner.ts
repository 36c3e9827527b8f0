// Which process holds the server side of a loopback TCP connection, read from Linux's /proc: the kernel's own answer.
import { readdir, readFile, readlink } from 'node:fs/promises';

/** Inodes of sockets whose local port is `serverPort` and remote port is `clientPort`. */
async function socketInodes(serverPort: number, clientPort: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      const remote = f[2];
      const inode = f[9];
      if (!local || !remote || !inode || inode === '0') continue;
      const port = (a: string) => Number.parseInt(a.slice(a.lastIndexOf(':') + 1), 16);
      if (port(local) === serverPort && port(remote) === clientPort) inodes.add(inode);
    }
  }
  return inodes;
}

/**
 * The processes among `pids` that hold the accepted socket of the connection from `clientPort`
 * to `serverPort`.
 */
export async function socketOwners(
  serverPort: number,
  clientPort: number,
  pids: number[],
): Promise<number[]> {
  const inodes = await socketInodes(serverPort, clientPort);
  if (inodes.size === 0) return [];
  const owners: number[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1] && inodes.has(m[1])) {
        owners.push(pid);
        break;
      }
    }
  }
  return owners;
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
