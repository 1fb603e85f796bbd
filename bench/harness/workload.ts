/** The benchmark's workloads: each bundle with the inputs it runs on and their labels. */
import { imageAt, loadFashionMnistTest, type ImageSet } from '../../head/datasets/fashion-mnist.js';
import { seededSamples } from '../../head/datasets/synthetic.js';
import { loadBundle } from '../../protocol/bundle.js';
import type { Manifest } from '../../protocol/manifest.js';
import type { BenchResult } from './run.js';

/** One workload: a bundle, its inputs and their labels (null: no accuracy claims). */
export interface Work {
  dir: string;
  manifest: Manifest;
  inputs: Uint8Array[];
  labels: (number | null)[];
}

/**
 * A bundle's inputs: the first `samples` Fashion-MNIST test images with their labels when the
 * bundle takes them and is not timing-only; else `timingSamples` (default min(samples, 30))
 * deterministic synthetic inputs of its raw shape, unlabelled.
 */
export function workInputs(m: Manifest, data: ImageSet, samples: number, timingSamples?: number): Pick<Work, 'inputs' | 'labels'> {
  if (!m.timingOnly && m.input.shape.join('x') === `1x${data.height}x${data.width}`) {
    const n = Math.min(samples, data.count);
    return { inputs: Array.from({ length: n }, (_, i) => imageAt(data, i)), labels: Array.from(data.labels.subarray(0, n)) };
  }
  const n = timingSamples ?? Math.min(samples, 30);
  return {
    inputs: seededSamples(
      m.input.raw.shape.reduce((a, x) => a * x, 1),
      n,
    ),
    labels: new Array<null>(n).fill(null),
  };
}

/** Opens every bundle (manifests only: the graphs are checked by the devices) and gives each its inputs. */
export async function loadWork(bundles: string[], samples: number, timingSamples?: number): Promise<Work[]> {
  const data = await loadFashionMnistTest();
  const opened = await Promise.all(bundles.map(async (dir) => ({ dir, manifest: (await loadBundle(dir, { checkGraphs: false })).manifest })));
  return opened.map((b) => ({ ...b, ...workInputs(b.manifest, data, samples, timingSamples) }));
}

/** What the result says about a workload's bundle. */
export function bundleInfo(b: Work): BenchResult['bundles'][number] {
  const m = b.manifest;
  return {
    id: m.id,
    dir: b.dir,
    timingOnly: Boolean(m.timingOnly),
    ratePoint: m.bottleneck.ratePoints[m.bottleneck.defaultRatePoint]!.id,
    threshold: m.exits[0]?.recommendedThreshold ?? null,
    splitAccuracy: m.accuracy?.splitByRate ?? null,
  };
}
