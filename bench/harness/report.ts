/**
 * The benchmark's outputs: JSON (every configuration plus the environment), a Markdown report
 * that says next to each figure whether it was measured or modelled (its sections in
 * report-md.ts, the target checks in targets.ts), and SVG plots (specs in plots.ts) rendered
 * with vega-lite (headless: vega's SVG renderer needs no canvas or browser).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installedVersion } from '../../scenario/package.js';
import type { TopLevelSpec } from 'vega-lite';
import { importOptional } from '../../protocol/optional.js';
import type { Manifest } from '../../protocol/manifest.js';
import { environment } from '../stats.js';
import { reportPlots } from './plots.js';
import { reportMarkdown } from './report-md.js';
import type { BenchResult } from './run.js';

export { targetChecks, type TargetCheck } from './targets.js';

/** Where the figures ran: CPU, Node, package versions, commit. */
export function benchEnvironment(): Record<string, unknown> {
  const version = (pkg: string): string => installedVersion(pkg) ?? 'not installed';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  return {
    ...environment(),
    commit,
    packages: Object.fromEntries(['onnxruntime-node', 'onnxruntime-web', 'ws', 'protobufjs', 'zstd-codec', 'vega', 'vega-lite'].map((p) => [p, version(p)])),
  };
}

/** Renders a vega-lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vega = await importOptional('vega', 'plots (offramp bench --report)', () => import('vega'));
  const { compile } = await importOptional('vega-lite', 'plots (offramp bench --report)', () => import('vega-lite'));
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes report.md and the SVG plots into `dir`; returns the files written. */
export async function writeReport(result: BenchResult, env: Record<string, unknown>, dir: string, command: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const save = async (name: string, text: string): Promise<void> => {
    await writeFile(join(dir, name), text);
    files.push(join(dir, name));
  };
  const manifests = await Promise.all(result.bundles.map(async (b) => JSON.parse(await readFile(join(b.dir, 'manifest.json'), 'utf8')) as Manifest));
  const plots = reportPlots(result, manifests);
  for (const [name, , spec] of plots) await save(name, await renderSvg(spec));
  await save('report.md', reportMarkdown(result, env, command, plots));
  return files;
}
