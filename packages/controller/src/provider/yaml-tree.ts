// Finds what a file provider should read and which directories it must watch, for a file, a tree, or nothing yet.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export type YamlTree =
  | { kind: 'file'; files: string[]; dirs: string[] }
  | { kind: 'directory'; files: string[]; dirs: string[] }
  /** Nothing at the path; `dirs` is the nearest existing ancestor, watched so the path is noticed when it appears. */
  | { kind: 'missing'; files: []; dirs: string[] };

const YAML_FILE = /\.ya?ml$/i;

/**
 * Lists `*.yml`/`*.yaml` under `root` (absolute), sorted. Dot-entries are skipped: they are editor
 * swap and lock files, `.git`, or Kubernetes' `..data` indirection (whose targets are reached through the
 * visible symlinks). Symlinked files are followed; symlinked directories are not, so a loop cannot hang us.
 */
export async function scanYamlTree(root: string): Promise<YamlTree> {
  const rootStat = await statOrNull(root);
  if (rootStat?.isFile()) return { kind: 'file', files: [root], dirs: [dirname(root)] };
  if (rootStat?.isDirectory()) {
    const files: string[] = [];
    const dirs: string[] = [];
    await walk(root, files, dirs);
    return { kind: 'directory', files: files.sort(), dirs: dirs.sort() };
  }
  return { kind: 'missing', files: [], dirs: [await nearestExistingDir(root)] };
}

async function walk(dir: string, files: string[], dirs: string[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // vanished or unreadable between listing and reading; the next scan sees the outcome
  }
  dirs.push(dir);
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      await walk(path, files, dirs);
    } else if (YAML_FILE.test(entry.name)) {
      if (entry.isFile() || (entry.isSymbolicLink() && (await statOrNull(path))?.isFile())) files.push(path);
    }
  }
}

async function nearestExistingDir(path: string): Promise<string> {
  let current = dirname(path);
  for (;;) {
    if ((await statOrNull(current))?.isDirectory()) return current;
    const parent = dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

async function statOrNull(path: string): Promise<Awaited<ReturnType<typeof stat>> | null> {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}
