import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflate, inflate } from 'node:zlib';

const deflateAsync = promisify(deflate);
const inflateAsync = promisify(inflate);

/** record-7.json.zz: the name comes from the record, so a second try finds the first one's file. */
export function archiveFileName(recordId: number): string {
  return `record-${recordId}.json.zz`;
}

/** The record's JSON, zlib-compressed: what goes into the archive file. */
export function compress(json: string): Promise<Buffer> {
  return deflateAsync(json);
}

/** The JSON inside an archive file (what `compress` was given). */
export async function readArchive(path: string): Promise<string> {
  return (await inflateAsync(await readFile(path))).toString('utf8');
}

// #region write-once
/**
 * Puts the archive into `dir` under `name`, unless a file of that name is
 * already there with the same JSON inside. Returns whether it wrote.
 *
 * The bytes go into a temporary file first, which is then renamed. A rename
 * within a folder is atomic: anyone who looks sees either no file or the whole
 * file, never half of one, even if the worker dies in the middle of writing.
 */
export async function writeOnce(dir: string, name: string, json: string, bytes: Buffer): Promise<boolean> {
  const path = join(dir, name);
  if (await holds(path, json)) return false;
  // A name of its own for each try: two tries never write into the same temporary file.
  const temp = join(dir, `${name}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const file = await open(temp, 'wx');
    try {
      await file.writeFile(bytes);
      // On the disk before the rename, not only in the operating system's cache.
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return true;
}

/** Whether `path` is an archive of exactly this JSON. */
async function holds(path: string, json: string): Promise<boolean> {
  try {
    return (await readArchive(path)) === json;
  } catch (err) {
    const code = String((err as NodeJS.ErrnoException).code);
    // No file yet; or a file that does not inflate (Z_DATA_ERROR, ...), which gets replaced.
    if (code === 'ENOENT' || code.startsWith('Z_')) return false;
    throw err;
  }
}
// #endregion write-once
