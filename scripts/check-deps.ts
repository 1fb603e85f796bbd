/**
 * Fails when an import points the wrong way (docs/ARCHITECTURE.md, "Dependencies"):
 *
 *   protocol ← bottleneck ← head, tail ← split, scenario ← cli
 *   link (the link emulator) stands alone; head and tail never import each other;
 *   bench/ is reached only from cli/bench.ts (the `offramp bench` command); benchmark scripts
 *   (bench/*.bench.ts, bench/reliability/) are imported by nothing but tests.
 *
 * Reads every .ts file's static and dynamic imports (type-only imports count too: they are a
 * dependency of the source). Usage: tsx scripts/check-deps.ts  (exit 1 on a violation).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');

/** What each folder may import (besides itself). */
export const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  bottleneck: ['protocol'],
  link: [],
  head: ['protocol', 'bottleneck'],
  tail: ['protocol', 'bottleneck'],
  split: ['protocol', 'bottleneck', 'head', 'link'],
  scenario: ['protocol', 'bottleneck', 'head', 'tail', 'link'],
  cli: ['protocol', 'bottleneck', 'head', 'tail', 'split', 'scenario', 'link', 'bench'],
  bench: ['protocol', 'bottleneck', 'head', 'tail', 'split', 'scenario', 'link'],
  web: ['protocol', 'bottleneck', 'head', 'link'],
  scripts: ['protocol', 'bottleneck', 'head', 'tail', 'split', 'scenario', 'link', 'bench'],
};

const SKIP = new Set(['node_modules', 'dist', 'generated', 'train', '.scratch']);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name) || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The import specifiers of a source file. */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;
  for (let m = re.exec(source); m; m = re.exec(source)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

/** Problems in the repository's import graph. */
export function violations(root = ROOT): string[] {
  const problems: string[] = [];
  for (const folder of Object.keys(ALLOWED)) {
    let list: string[];
    try {
      list = files(join(root, folder));
    } catch {
      continue;
    }
    for (const file of list) {
      const rel = relative(root, file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = relative(root, resolve(dirname(file), spec));
        const top = target.split('/')[0]!;
        if (top === folder || top.startsWith('..')) continue;
        if (!(top in ALLOWED) && top !== 'test') continue; // package.json and the like
        if (!ALLOWED[folder]!.includes(top)) {
          problems.push(`${rel} imports ${target}: ${folder}/ may import ${ALLOWED[folder]!.join(', ') || 'nothing of ours'}`);
          continue;
        }
        if (top === 'bench' && rel !== 'cli/bench.ts' && folder !== 'bench' && folder !== 'scripts')
          problems.push(`${rel} imports ${target}: only cli/bench.ts reaches into bench/`);
        if ((/\.bench\.ts$/.test(target.replace(/\.js$/, '.ts')) || target.startsWith('bench/reliability/')) && folder !== 'bench') {
          problems.push(`${rel} imports ${target}: benchmark scripts are imported by nothing but tests`);
        }
      }
    }
  }
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const v = violations();
  for (const p of v) console.error(p);
  if (v.length) {
    console.error(`${v.length} import(s) point the wrong way (docs/ARCHITECTURE.md, "Dependencies")`);
    process.exit(1);
  }
  console.log('dependencies point one way');
}
