/** Reading a bundle folder (Node.js only). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundleReader } from '../protocol/bundle-files.js';
import { OfframpError } from '../protocol/errors.js';

export function folderReader(dir: string): BundleReader {
  return async (name) => {
    const path = join(dir, name);
    try {
      return new Uint8Array(await readFile(path));
    } catch (err) {
      throw new OfframpError('BUNDLE_FILE_MISSING', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
  };
}
