/**
 * Opening a bundle from any file source (a folder, a URL, bytes in memory) without Node.js
 * built-ins: the manifest is validated, and every file read is checked against its sha256. The
 * folder loader with onnxruntime port checks (Node only) builds on this (protocol/bundle.ts).
 */
import { sha256HexAsync } from './digest.js';
import { OfframpError } from './errors.js';
import { EntropyTablesSchema, parseManifest, type EntropyTables, type GraphName, type Manifest } from './manifest.js';
import { manifestProblems } from './manifest-check.js';

/** Reads one file of a bundle by name; rejects with BUNDLE_FILE_MISSING when it cannot. */
export type BundleReader = (name: string) => Promise<Uint8Array>;

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

/** Reads `name` and checks it against `sha256`. */
export async function readVerified(read: BundleReader, name: string, sha256: string): Promise<Uint8Array> {
  const bytes = await read(name);
  const actual = await sha256HexAsync(bytes);
  if (actual !== sha256) throw new OfframpError('BUNDLE_HASH_MISMATCH', `${name}: sha256 is ${actual}; the manifest says ${sha256}`);
  return bytes;
}

/** The entropy tables of every entropy rate point (by rate point index), read and verified. */
export async function readEntropyTables(read: BundleReader, m: Manifest): Promise<Map<number, EntropyTables>> {
  const out = new Map<number, EntropyTables>();
  await Promise.all(
    m.bottleneck.ratePoints.map(async (rp, i) => {
      if (rp.codec !== 'entropy') return;
      const bytes = await readVerified(read, rp.tables.file, rp.tables.sha256);
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder().decode(bytes));
      } catch (err) {
        throw new OfframpError('BUNDLE_INVALID', `${rp.tables.file} is not valid JSON: ${(err as Error).message}`, { cause: err });
      }
      const r = EntropyTablesSchema.safeParse(json);
      if (!r.success)
        throw new OfframpError('BUNDLE_INVALID', `${rp.tables.file}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
      out.set(i, r.data);
    }),
  );
  return out;
}

/** A bundle opened from a {@link BundleReader}: the manifest, its hash and the verified files read. */
export interface OpenedBundle {
  manifest: Manifest;
  /** Lower-case hex sha256 of manifest.json, the hash devices send in Hello. */
  manifestSha256: string;
  /** The graphs asked for, verified. */
  graphs: Partial<Record<GraphName, Uint8Array>>;
  /** Entropy tables by rate point index, verified. */
  tables: Map<number, EntropyTables>;
}

/** Opens a bundle: the manifest, the `graphs` asked for and every entropy table, all verified. */
export async function openBundle(read: BundleReader, graphs: readonly GraphName[], where = 'manifest.json'): Promise<OpenedBundle> {
  const manifestBytes = await read('manifest.json');
  const manifest = manifestFromBytes(manifestBytes, where);
  const [manifestSha256, tables, ...files] = await Promise.all([
    sha256HexAsync(manifestBytes),
    readEntropyTables(read, manifest),
    ...graphs.map((g) => readVerified(read, manifest.graphs[g].file, manifest.graphs[g].sha256)),
  ]);
  const out: OpenedBundle['graphs'] = {};
  graphs.forEach((g, i) => (out[g] = files[i]));
  return { manifest, manifestSha256, graphs: out, tables };
}
