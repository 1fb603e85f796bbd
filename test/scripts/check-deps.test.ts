/**
 * scripts/check-deps.ts: imports point one way (docs/ARCHITECTURE.md, "Layout and dependencies").
 * The repository has no wrong-way import; a fake tree with known wrong ones yields exactly those.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ALLOWED, importsOf, violations } from '../../scripts/check-deps.js';

const ROOT = join(import.meta.dirname, '..', '..');

let tree: string | undefined;
afterEach(async () => {
  if (tree) await rm(tree, { recursive: true, force: true });
  tree = undefined;
});

/** A temporary tree holding `files` (path → source). */
async function fakeTree(files: Record<string, string>): Promise<string> {
  tree = await mkdtemp(join(tmpdir(), 'offramp-deps-'));
  for (const [path, source] of Object.entries(files)) {
    await mkdir(dirname(join(tree, path)), { recursive: true });
    await writeFile(join(tree, path), source);
  }
  return tree;
}

describe('the repository', () => {
  it('has no import pointing the wrong way', () => {
    expect(violations(ROOT)).toEqual([]);
  });

  it('allows what ARCHITECTURE.md says: protocol and link import nothing of ours, head and tail not each other', () => {
    expect(ALLOWED.protocol).toEqual([]);
    expect(ALLOWED.link).toEqual([]);
    expect(ALLOWED.head).not.toContain('tail');
    expect(ALLOWED.tail).not.toContain('head');
    for (const [folder, allowed] of Object.entries(ALLOWED)) {
      if (folder !== 'cli' && folder !== 'scripts') expect(allowed).not.toContain('cli');
      if (folder !== 'cli' && folder !== 'scripts') expect(allowed).not.toContain('bench');
    }
  });
});

describe('violations of a fake tree', () => {
  it('protocol/ importing head/, head/ importing tail/, a file importing a benchmark script: exactly those three', async () => {
    const root = await fakeTree({
      'protocol/frame.ts': "import { x } from '../head/device.js';\nexport const y = x;\n",
      'head/device.ts': "import type { Edge } from '../tail/server.js';\nexport const x: Edge | 1 = 1;\n",
      'cli/bench.ts': "import { main } from '../bench/codec.bench.js';\nimport { runBench } from '../bench/harness/run.js';\nvoid main; void runBench;\n",
      'bench/codec.bench.ts': 'export const main = 1;\n',
      'bench/harness/run.ts': "import { main } from '../codec.bench.js';\nexport const runBench = main;\n",
      'tail/server.ts': "import { decode } from '../protocol/frame.js';\nexport type Edge = typeof decode;\n",
    });
    expect(violations(root).sort()).toEqual([
      'cli/bench.ts imports bench/codec.bench.js: benchmark scripts are imported by nothing but tests',
      'head/device.ts imports tail/server.js: head/ may import protocol, bottleneck',
      'protocol/frame.ts imports head/device.js: protocol/ may import nothing of ours',
    ]);
  });

  it('reads static, type-only, re-export, side-effect and dynamic imports', async () => {
    const root = await fakeTree({
      'link/a.ts': "export { thing } from '../head/a.js';\n",
      'link/b.ts': "import '../tail/b.js';\n",
      'link/c.ts': "export async function f() {\n  return import('../split/c.js');\n}\n",
      'link/d.ts': "import {\n  one,\n  two,\n} from '../scenario/d.js';\nvoid one; void two;\n",
    });
    expect(violations(root).sort()).toEqual([
      'link/a.ts imports head/a.js: link/ may import nothing of ours',
      'link/b.ts imports tail/b.js: link/ may import nothing of ours',
      'link/c.ts imports split/c.js: link/ may import nothing of ours',
      'link/d.ts imports scenario/d.js: link/ may import nothing of ours',
    ]);
  });

  it('only cli/bench.ts reaches into bench/; scripts may; nothing but bench/ imports bench/reliability/', async () => {
    const root = await fakeTree({
      'cli/demo.ts': "import { runBench } from '../bench/harness/run.js';\nvoid runBench;\n",
      'split/eval.ts': "import { percentile } from '../bench/stats.js';\nvoid percentile;\n",
      'scripts/tool.ts': "import { percentile } from '../bench/stats.js';\nimport { soak } from '../bench/reliability/soak.js';\nvoid percentile; void soak;\n",
      'bench/serve.bench.ts': "import { soak } from './reliability/soak.js';\nvoid soak;\n",
    });
    expect(violations(root).sort()).toEqual([
      'cli/demo.ts imports bench/harness/run.js: only cli/bench.ts reaches into bench/',
      'scripts/tool.ts imports bench/reliability/soak.js: benchmark scripts are imported by nothing but tests',
      'split/eval.ts imports bench/stats.js: split/ may import protocol, bottleneck, head, link',
    ]);
  });

  it('counts imports of test/ as wrong from any product folder', async () => {
    const root = await fakeTree({ 'tail/pool.ts': "import { TINY } from '../test/tail/client.js';\nvoid TINY;\n" });
    expect(violations(root)).toEqual(['tail/pool.ts imports test/tail/client.js: tail/ may import protocol, bottleneck']);
  });

  it('ignores packages, node: modules, package.json, its own folder, declaration files and skipped folders', async () => {
    const root = await fakeTree({
      'head/a.ts':
        "import { WebSocket } from 'ws';\nimport { readFile } from 'node:fs/promises';\nimport pkg from '../package.json';\nimport { b } from './b.js';\nimport { c } from '../protocol/c.js';\nvoid WebSocket; void readFile; void pkg; void b; void c;\n",
      'head/b.ts': 'export const b = 1;\n',
      'head/types.d.ts': "import type { X } from '../tail/x.js';\nexport type Y = X;\n",
      'head/generated/g.ts': "import { t } from '../../tail/t.js';\nvoid t;\n",
      'head/node_modules/m/index.ts': "import { t } from '../../../tail/t.js';\nvoid t;\n",
      'bottleneck/train/x.ts': "import { t } from '../../tail/t.js';\nvoid t;\n",
      'head/.hidden/h.ts': "import { t } from '../../tail/t.js';\nvoid t;\n",
      'test/head/helpers.ts': "import { t } from '../../tail/t.js';\nvoid t;\n",
      'docs/x.ts': "import { t } from '../tail/t.js';\nvoid t;\n",
    });
    expect(violations(root)).toEqual([]);
  });

  it('an empty tree has none', async () => {
    expect(violations(await fakeTree({}))).toEqual([]);
  });
});

describe('importsOf', () => {
  it('lists every specifier, in order', () => {
    const source = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      'import * as c from "c";',
      "import d, { e } from './de.js';",
      "export { f } from './f.js';",
      "export * from './g.js';",
      "import './side-effect.js';",
      "const h = await import('./h.js');",
      'const i = await import( "./i.js" );',
      "import {\n  j,\n  k,\n} from './jk.js';",
      "const notAnImport = 'from here';",
    ].join('\n');
    expect(importsOf(source)).toEqual(['./a.js', '../b.js', 'c', './de.js', './f.js', './g.js', './side-effect.js', './h.js', './i.js', './jk.js']);
  });
});
