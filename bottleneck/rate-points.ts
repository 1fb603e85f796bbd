/** The manifest's rate points as codec inputs (entropy tables turned into typed CDF tables). */
import { OfframpError } from '../protocol/errors.js';
import type { EntropyTables, Manifest, RatePointSpec } from '../protocol/manifest.js';
import { ratePointProblem, type RatePoint } from './features.js';
import { tableProblem, type CdfTable } from './range-coder.js';

/** CDF tables from the tables file's JSON form; throws BUNDLE_INVALID on a malformed table. */
export function cdfTables(t: EntropyTables, where: string): CdfTable[] {
  return t.channels.map((c, i) => {
    const table = { offset: c.offset, cdf: Uint32Array.from(c.cdf) };
    const problem = tableProblem(table);
    if (problem) throw new OfframpError('BUNDLE_INVALID', `${where}: channel ${i}: ${problem}`);
    return table;
  });
}

/** One rate point resolved; `tables` must hold its entropy tables when it has any. */
export function resolveRatePoint(spec: RatePointSpec, shape: readonly number[], tables: EntropyTables | undefined): RatePoint {
  let rp: RatePoint;
  if (spec.codec === 'entropy') {
    if (!tables) throw new OfframpError('BUNDLE_FILE_MISSING', `rate point ${spec.id}: its tables (${spec.tables.file}) were not read`);
    rp = { codec: 'entropy', step: spec.step, tables: cdfTables(tables, spec.tables.file) };
  } else if (spec.codec === 'uniform') {
    rp = { codec: 'uniform', bits: spec.bits, min: spec.min, max: spec.max };
  } else {
    rp = { codec: spec.codec };
  }
  const problem = ratePointProblem(shape, rp);
  if (problem) throw new OfframpError('BUNDLE_INVALID', `rate point ${spec.id}: ${problem}`);
  return rp;
}

/** Every rate point of a manifest, in order. */
export function resolveRatePoints(m: Manifest, tables: ReadonlyMap<number, EntropyTables>): RatePoint[] {
  return m.bottleneck.ratePoints.map((spec, i) => resolveRatePoint(spec, m.bottleneck.shape, tables.get(i)));
}
