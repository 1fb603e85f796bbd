/**
 * Loads a bundle folder (Node.js): validates the manifest, verifies every file's sha256, and
 * opens each ONNX graph with onnxruntime-node to check its ports against the manifest. Every
 * failure is an {@link OfframpError} whose message names the mismatch.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openBundle } from './bundle-files.js';
import { OfframpError } from './errors.js';
import { importOptional } from './optional.js';
import { GRAPH_NAMES, type EntropyTables, type GraphName, type GraphSpec, type Manifest } from './manifest.js';
import { dimMatches, formatShape } from './manifest-check.js';

export { manifestFromBytes } from './bundle-files.js';

/** A verified bundle. */
export interface LoadedBundle {
  dir: string;
  manifest: Manifest;
  /** Lower-case hex sha256 of manifest.json, the hash devices send in Hello. */
  manifestSha256: string;
  /** Path of each graph file. */
  paths: Record<GraphName, string>;
  /** Entropy tables by rate point index. */
  tables: Map<number, EntropyTables>;
}

/** Options of {@link loadBundle}. */
export interface LoadBundleOptions {
  /** Open each graph with onnxruntime-node and compare its ports (default true). */
  checkGraphs?: boolean;
}

/** Lower-case hex sha256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads files of a folder as a BundleReader does. */
export function folderReader(dir: string): (name: string) => Promise<Uint8Array> {
  return async (name) => {
    const path = join(dir, name);
    try {
      return await readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new OfframpError('BUNDLE_FILE_MISSING', `cannot read ${path}: ${code ?? String(err)}`, { cause: err });
    }
  };
}

/** A session's ports as onnxruntime reports them. */
interface PortMeta {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

/** Compares an opened session's ports with the manifest's; returns problems. */
export function graphProblems(
  graph: GraphName,
  spec: GraphSpec,
  session: { inputMetadata: readonly PortMeta[]; outputMetadata: readonly PortMeta[] },
): string[] {
  const problems: string[] = [];
  const sides = [
    ['inputs', spec.inputs, session.inputMetadata],
    ['outputs', spec.outputs, session.outputMetadata],
  ] as const;
  for (const [side, expected, actual] of sides) {
    const names = actual.map((m) => m.name);
    const want = expected.map((t) => t.name);
    if (names.join('\u0000') !== want.join('\u0000')) {
      problems.push(`${graph}.onnx ${side} are [${names.join(', ')}]; the manifest says [${want.join(', ')}]`);
      continue;
    }
    expected.forEach((t, i) => {
      const meta = actual[i]!;
      if (!meta.isTensor || !meta.shape) {
        problems.push(`${graph}.onnx ${side} ${t.name} is not a tensor`);
        return;
      }
      if (meta.type !== t.dtype) problems.push(`${graph}.onnx ${t.name} has dtype ${meta.type}; the manifest says ${t.dtype}`);
      const shape = meta.shape;
      const ok = shape.length === t.shape.length && t.shape.every((d, j) => dimMatches(d, shape[j]!));
      if (!ok) problems.push(`${graph}.onnx ${t.name} has shape ${formatShape(shape)}; the manifest says ${formatShape(t.shape)}`);
    });
  }
  return problems;
}

/** Loads and verifies the bundle in `dir`. */
export async function loadBundle(dir: string, options: LoadBundleOptions = {}): Promise<LoadedBundle> {
  const opened = await openBundle(folderReader(dir), GRAPH_NAMES, join(dir, 'manifest.json'));
  const { manifest } = opened;
  const paths = {} as Record<GraphName, string>;
  for (const graph of GRAPH_NAMES) {
    const spec = manifest.graphs[graph];
    const path = join(dir, spec.file);
    paths[graph] = path;
    if (options.checkGraphs ?? true) {
      const ort = await importOptional('onnxruntime-node', "checking a bundle's graphs (loadBundle)", () => import('onnxruntime-node'));
      let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
      try {
        session = await ort.InferenceSession.create(opened.graphs[graph]!, { intraOpNumThreads: 1 });
      } catch (err) {
        throw new OfframpError('BUNDLE_GRAPH_MISMATCH', `${path}: onnxruntime cannot open it: ${(err as Error).message}`, { cause: err });
      }
      const problems = graphProblems(graph, spec, session);
      await session.release();
      if (problems.length) throw new OfframpError('BUNDLE_GRAPH_MISMATCH', `${path} does not match the manifest:\n  ${problems.join('\n  ')}`);
    }
  }
  return { dir, manifest, manifestSha256: opened.manifestSha256, paths, tables: opened.tables };
}
