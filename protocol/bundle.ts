/**
 * Loads a bundle folder: validates the manifest, verifies every file's sha256, and opens each
 * ONNX graph with onnxruntime-node to check its ports against the manifest. Every failure is an
 * {@link OfframpError} whose message names the mismatch.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OfframpError } from './errors.js';
import { GRAPH_NAMES, parseManifest, type GraphName, type GraphSpec, type Manifest } from './manifest.js';
import { dimMatches, formatShape, manifestProblems } from './manifest-check.js';

/** A verified bundle. */
export interface LoadedBundle {
  dir: string;
  manifest: Manifest;
  /** Lower-case hex sha256 of manifest.json, the hash devices send in Hello. */
  manifestSha256: string;
  /** Absolute-or-relative path of each graph file. */
  paths: Record<GraphName, string>;
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

async function readOrFail(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OfframpError('BUNDLE_FILE_MISSING', `cannot read ${path}: ${code ?? String(err)}`, { cause: err });
  }
}

/** Parses and validates a manifest.json's bytes; throws BUNDLE_INVALID listing every problem. */
export function manifestFromBytes(bytes: Uint8Array, where = 'manifest.json'): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new OfframpError('BUNDLE_INVALID', `${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = parseManifest(json);
  if (!parsed.ok) throw new OfframpError('BUNDLE_INVALID', `${where} does not match the schema:\n  ${parsed.problems.join('\n  ')}`);
  const problems = manifestProblems(parsed.manifest);
  if (problems.length) throw new OfframpError('BUNDLE_INVALID', `${where} is inconsistent:\n  ${problems.join('\n  ')}`);
  return parsed.manifest;
}

/** Compares an opened session's ports with the manifest's; returns problems. */
export function graphProblems(graph: GraphName, spec: GraphSpec, session: ort.InferenceSession): string[] {
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
      if (!meta.isTensor) {
        problems.push(`${graph}.onnx ${side} ${t.name} is not a tensor`);
        return;
      }
      if (meta.type !== t.dtype) problems.push(`${graph}.onnx ${t.name} has dtype ${meta.type}; the manifest says ${t.dtype}`);
      const ok = meta.shape.length === t.shape.length && t.shape.every((d, j) => dimMatches(d, meta.shape[j]!));
      if (!ok) problems.push(`${graph}.onnx ${t.name} has shape ${formatShape(meta.shape)}; the manifest says ${formatShape(t.shape)}`);
    });
  }
  return problems;
}

/** Loads and verifies the bundle in `dir`. */
export async function loadBundle(dir: string, options: LoadBundleOptions = {}): Promise<LoadedBundle> {
  const manifestBytes = await readOrFail(join(dir, 'manifest.json'));
  const manifest = manifestFromBytes(manifestBytes, join(dir, 'manifest.json'));
  const paths = {} as Record<GraphName, string>;
  for (const graph of GRAPH_NAMES) {
    const spec = manifest.graphs[graph];
    const path = join(dir, spec.file);
    paths[graph] = path;
    const bytes = await readOrFail(path);
    const actual = sha256Hex(bytes);
    if (actual !== spec.sha256) {
      throw new OfframpError('BUNDLE_HASH_MISMATCH', `${path}: sha256 is ${actual}; the manifest says ${spec.sha256}`);
    }
    if (options.checkGraphs ?? true) {
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      } catch (err) {
        throw new OfframpError('BUNDLE_GRAPH_MISMATCH', `${path}: onnxruntime cannot open it: ${(err as Error).message}`, { cause: err });
      }
      const problems = graphProblems(graph, spec, session);
      await session.release();
      if (problems.length) throw new OfframpError('BUNDLE_GRAPH_MISMATCH', `${path} does not match the manifest:\n  ${problems.join('\n  ')}`);
    }
  }
  return { dir, manifest, manifestSha256: sha256Hex(manifestBytes), paths };
}
