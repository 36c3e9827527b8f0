// The node's data dir holds its snapshot cache and pinned CA: only the node's user may write it.
import { chmod, mkdir, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DATA_DIR_UNSAFE } from '../errors.js';

export class DataDirError extends Error {
  readonly code = DATA_DIR_UNSAFE;
}

/**
 * Creates the data dir 0700, or checks an existing one: writable by group or others, it is set to
 * 0700 (with a warning) when this process owns it, and refused otherwise.
 */
export async function secureDataDir(dataDir: string, logger: Logger): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const st = await stat(dataDir);
  if (!st.isDirectory()) throw new DataDirError(`the data dir ${dataDir} is not a directory`);
  if ((st.mode & 0o022) === 0) return;
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  if (st.uid === process.getuid?.()) {
    await chmod(dataDir, 0o700);
    logger.warn(
      { code: DATA_DIR_UNSAFE, dataDir, mode },
      'the data dir was writable by group or others; set it to 0700',
    );
    return;
  }
  throw new DataDirError(
    `the data dir ${dataDir} (mode ${mode}, owner uid ${st.uid}) is writable by other users, who could plant a snapshot cache; make it owned by this user and mode 0700`,
  );
}
