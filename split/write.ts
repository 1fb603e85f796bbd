/**
 * Writing a bundle folder atomically: every file goes into a temporary folder beside the target,
 * the folder is verified as `offramp serve` and the SDK will load it, and only then renamed into
 * place. A failure at any step removes the temporary folder: there is never a half-written
 * bundle under the target name.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { OfframpError } from '../protocol/errors.js';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Writes `files` (name → bytes or text) as the folder `out`, after `verify(tempDir)` passes.
 * An existing `out` is replaced only with `force` (INVALID_ARGUMENT otherwise).
 */
export async function writeFolderAtomically(
  out: string,
  files: Record<string, Uint8Array | string>,
  verify: (dir: string) => Promise<void>,
  force = false,
): Promise<void> {
  const target = resolve(out);
  if (!force && (await exists(target)))
    throw new OfframpError('INVALID_ARGUMENT', `${out} already exists: choose another --out, or pass --force to replace it`);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const temp = join(parent, `.${basename(target)}.partial-${tag}`);
  await mkdir(temp);
  try {
    for (const [name, data] of Object.entries(files)) await writeFile(join(temp, name), data);
    try {
      await verify(temp);
    } catch (e) {
      // Name the folder the user asked for, not the temporary one.
      if (e instanceof OfframpError) throw new OfframpError(e.code, `${e.message.replaceAll(temp, out)} (nothing was written)`, { cause: e });
      throw e;
    }
    if (await exists(target)) {
      // Replace: move the old folder aside first, so the target name never holds a mix.
      const old = join(parent, `.${basename(target)}.old-${tag}`);
      await rename(target, old);
      await rename(temp, target);
      await rm(old, { recursive: true, force: true });
    } else await rename(temp, target);
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw e;
  }
}
