/**
 * Where this package lives (the repository, or the installed package: found from this file in
 * the source tree or in dist/), its version, and installed dependencies' versions. One walk up
 * the folders, for the CLI, the benchmark's environment record and `offramp doctor`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function walkUp<T>(found: (dir: string) => T | undefined): T | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const v = found(dir);
    if (v !== undefined) return v;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The folder holding offramp's package.json. */
export function packageRoot(): string {
  return (
    walkUp((dir) => {
      const file = join(dir, 'package.json');
      return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'offramp' ? dir : undefined;
    }) ?? process.cwd()
  );
}

/** offramp's version. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
}

/** The installed version of a dependency (its package.json in a node_modules above this file; not every package exports it). */
export function installedVersion(pkg: string): string | undefined {
  return walkUp((dir) => {
    const file = join(dir, 'node_modules', pkg, 'package.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : undefined;
  });
}
