/**
 * `npm run bench:rd`: the supervised rate–distortion curve. Accuracy against mean payload bytes
 * per sample for every bundle's rate points (split computing: the device's head, the entropy
 * coder, the edge's tail) and for input-compression baselines sent to the teacher (full.onnx) on
 * the same socket path: the raw image (+ zstd), downsampled and quantized images (+ zstd), and
 * header-less JPEG at several qualities. Every sample is a real request from the device SDK to an
 * edge in this process over loopback; bytes are the codec's payloads.
 *
 * Usage: tsx bench/rd.bench.ts [--bundle a,b] [--samples 10000] [--json out.json] [--svg out.svg] [--md out.md]
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { TopLevelSpec } from 'vega-lite';
import type { InputEncoding } from '../bottleneck/input.js';
import { createDevice } from '../head/device.js';
import { imageAt, loadFashionMnistTest } from '../head/datasets/fashion-mnist.js';
import { loadBundle } from '../protocol/bundle.js';
import { startLocalEdge } from '../scenario/edge.js';
import { runLanes } from '../scenario/lanes.js';
import { benchEnvironment, renderSvg } from './harness/report.js';

export interface RdPoint {
  kind: 'split' | 'input';
  /** Bundle id and rate point, or the input encoding. */
  name: string;
  bundle: string;
  samples: number;
  accuracy: number;
  payloadBytesMean: number;
  payloadBytesP99: number;
}

/** The baselines: raw, downsampled (factor × bits) and JPEG qualities. */
export const BASELINES: { name: string; enc: InputEncoding }[] = [
  { name: 'raw + zstd', enc: { codec: 'raw' } },
  ...[2, 4].flatMap((factor) =>
    [1, 2, 3, 4, 6, 8].map((bits) => ({ name: `downsample ×${factor}, ${bits} bits`, enc: { codec: 'downsample' as const, factor, bits } })),
  ),
  ...[1, 3, 5, 10, 20, 40, 70, 90].map((quality) => ({ name: `jpeg q${quality}`, enc: { codec: 'jpeg' as const, quality } })),
];

/** The best baseline accuracy among those whose mean payload fits `bytes` (−Infinity when none does). */
export function bestBaselineAt(points: readonly RdPoint[], bytes: number): RdPoint | undefined {
  return points.filter((p) => p.kind === 'input' && p.payloadBytesMean <= bytes).sort((a, b) => b.accuracy - a.accuracy)[0];
}

// Long on purpose: a benchmark script read top to bottom — arguments, every rate point and baseline through the socket path, margins, JSON, plot, table.
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bundle: { type: 'string' },
      samples: { type: 'string', default: '10000' },
      json: { type: 'string' },
      svg: { type: 'string' },
      md: { type: 'string' },
    },
  });
  const root = join(dirname(new URL(import.meta.url).pathname), '..');
  const bundles = values.bundle
    ? values.bundle.split(',')
    : (await readdir(join(root, 'models')))
        .filter((d) => d.startsWith('fmnist-') && existsSync(join(root, 'models', d, 'manifest.json')))
        .map((d) => join(root, 'models', d))
        .sort();
  const data = await loadFashionMnistTest();
  const n = Math.min(Number(values.samples), data.count);
  const inputs = Array.from({ length: n }, (_, i) => imageAt(data, i));
  const local = await startLocalEdge(bundles, { workers: 1 });
  const points: RdPoint[] = [];
  const run = async (bundle: string, kind: RdPoint['kind'], name: string, opts: Parameters<typeof createDevice>[0]): Promise<void> => {
    const r = await runLanes({ make: () => createDevice(opts), inputs, warmup: 5, pilot: 50, parallel: 8, connectMs: 5000 });
    const sizes = r.results.map((x) => x.payloadBytes).sort((a, b) => a - b);
    const correct = r.results.filter((x, i) => x.label === data.labels[i] && x.path === 'edge').length;
    const notEdge = r.results.filter((x) => x.path !== 'edge').length;
    if (notEdge) throw new Error(`${name}: ${notEdge} answers did not come from the edge`);
    points.push({
      kind,
      name,
      bundle,
      samples: n,
      accuracy: correct / n,
      payloadBytesMean: sizes.reduce((a, b) => a + b, 0) / n,
      payloadBytesP99: sizes[Math.ceil(0.99 * n) - 1]!,
    });
    console.log(`${name.padEnd(28)} ${((correct / n) * 100).toFixed(2)}%  ${points.at(-1)!.payloadBytesMean.toFixed(2)} B`);
  };
  try {
    const edge = local.edge.url;
    for (const dir of bundles) {
      const m = (await loadBundle(dir, { checkGraphs: false })).manifest;
      for (let i = 0; i < m.bottleneck.ratePoints.length; i++) {
        await run(m.id, 'split', `${m.id} ${m.bottleneck.ratePoints[i]!.id}`, { bundle: dir, edge, policy: { force: 'always-offload', ratePoint: i } });
      }
    }
    const teacher = bundles[0]!;
    const tm = (await loadBundle(teacher, { checkGraphs: false })).manifest;
    for (const b of BASELINES) await run(tm.id, 'input', b.name, { bundle: teacher, edge, policy: { force: 'full-offload' }, inputEncoding: b.enc });
  } finally {
    await local.close();
  }
  const margins = [8, 16, 32, 64].map((budget) => {
    const split = points.filter((p) => p.kind === 'split' && p.payloadBytesMean <= budget).sort((a, b) => b.accuracy - a.accuracy)[0];
    const base = bestBaselineAt(points, budget);
    return {
      budget,
      split: split?.name ?? null,
      splitAccuracy: split?.accuracy ?? null,
      baseline: base?.name ?? null,
      baselineAccuracy: base?.accuracy ?? null,
      marginPt: split && base ? (split.accuracy - base.accuracy) * 100 : split ? Infinity : null,
    };
  });
  const result = { command: `tsx bench/rd.bench.ts ${process.argv.slice(2).join(' ')}`.trim(), environment: benchEnvironment(), samples: n, points, margins };
  if (values.json) {
    await mkdir(dirname(values.json), { recursive: true });
    await writeFile(values.json, JSON.stringify(result, null, 2) + '\n');
  }
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Accuracy vs payload bytes per sample (Fashion-MNIST test, ${n} images, measured through the socket path)`,
    width: 520,
    height: 320,
    data: { values: points.map((p) => ({ ...p, series: p.kind === 'split' ? 'split (entropic student)' : p.name.replace(/ q\d+$| \d+ bits$/, '') })) },
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'payloadBytesMean', type: 'quantitative', scale: { type: 'log' }, title: 'mean payload bytes per sample (log)' },
          y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0.5, 1] }, title: 'top-1 accuracy', axis: { format: '%' } },
          color: { field: 'series', type: 'nominal', title: null },
          order: { field: 'payloadBytesMean' },
        },
      },
    ],
  };
  if (values.svg) await writeFile(values.svg, await renderSvg(spec));
  const md = [
    '| kind | point | accuracy | payload B mean | p99 |',
    '|---|---|---|---|---|',
    ...points.map((p) => `| ${p.kind} | ${p.name} | ${(p.accuracy * 100).toFixed(2)}% | ${p.payloadBytesMean.toFixed(2)} | ${p.payloadBytesP99} |`),
    '',
    '| budget B | best split point | accuracy | best baseline within budget | accuracy | margin pt |',
    '|---|---|---|---|---|---|',
    ...margins.map(
      (x) =>
        `| ${x.budget} | ${x.split ?? '—'} | ${x.splitAccuracy === null ? '—' : `${(x.splitAccuracy * 100).toFixed(2)}%`} | ${x.baseline ?? 'none fits'} | ${x.baselineAccuracy === null ? '—' : `${(x.baselineAccuracy * 100).toFixed(2)}%`} | ${x.marginPt === null ? '—' : Number.isFinite(x.marginPt) ? x.marginPt.toFixed(2) : 'no baseline fits'} |`,
    ),
  ];
  if (values.md) await writeFile(values.md, md.join('\n') + '\n');
  console.log(md.join('\n'));
}

await main();
