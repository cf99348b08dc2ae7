import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { archiveFileName, compress, readArchive, writeOnce } from '../src/worker-archive-file.ts';
import { archiveFiles, tempDir } from './stack.ts';

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.remove());

const json = JSON.stringify({ id: 7, data: { title: 'Tëst ✓', tags: ['a', 'b'] } });

describe('stage 05: the archive file', () => {
  test('is named after the record', () => {
    expect(archiveFileName(7)).toBe('record-7.json.zz');
  });

  test('holds the record JSON, zlib-compressed: any zlib inflates it back', async () => {
    expect(await writeOnce(dir.path, 'record-7.json.zz', json, await compress(json))).toBe(true);
    const raw = readFileSync(join(dir.path, 'record-7.json.zz'));
    // 0x78: the first byte of a zlib stream.
    expect(raw[0]).toBe(0x78);
    expect(inflateSync(raw).toString('utf8')).toBe(json);
    expect(await readArchive(join(dir.path, 'record-7.json.zz'))).toBe(json);
    // Nothing else is left in the folder: the temporary file was renamed.
    expect(archiveFiles(dir.path)).toEqual(['record-7.json.zz']);
  });

  test('a second write of the same record leaves the first file alone', async () => {
    const bytes = await compress(json);
    await writeOnce(dir.path, 'record-7.json.zz', json, bytes);
    const path = join(dir.path, 'record-7.json.zz');
    // An old time on the file: a rewrite would give it a new one.
    utimesSync(path, new Date('2020-01-01'), new Date('2020-01-01'));
    const before = statSync(path);

    expect(await writeOnce(dir.path, 'record-7.json.zz', json, bytes)).toBe(false);
    const after = statSync(path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(archiveFiles(dir.path)).toEqual(['record-7.json.zz']);
  });

  test('a file with other content (or no zlib at all) is replaced, in one step', async () => {
    const other = JSON.stringify({ id: 7, data: { title: 'old' } });
    writeFileSync(join(dir.path, 'record-7.json.zz'), await compress(other));
    expect(await writeOnce(dir.path, 'record-7.json.zz', json, await compress(json))).toBe(true);
    expect(await readArchive(join(dir.path, 'record-7.json.zz'))).toBe(json);

    writeFileSync(join(dir.path, 'record-7.json.zz'), 'not zlib');
    expect(await writeOnce(dir.path, 'record-7.json.zz', json, await compress(json))).toBe(true);
    expect(await readArchive(join(dir.path, 'record-7.json.zz'))).toBe(json);
    expect(archiveFiles(dir.path)).toEqual(['record-7.json.zz']);
  });

  test('a folder that does not exist is an error that names it, and leaves nothing behind', async () => {
    const missing = join(dir.path, 'missing');
    await expect(writeOnce(missing, 'record-7.json.zz', json, await compress(json))).rejects.toThrow(
      /ENOENT: no such file or directory, open '.*\/missing\/record-7\.json\.zz\.[0-9a-f]{8}\.tmp'/,
    );
    mkdirSync(missing);
    expect(archiveFiles(missing)).toEqual([]);
  });
});
