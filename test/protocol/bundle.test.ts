import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdfTables, decodeFeatures, encodeFeatures, resolveRatePoint, resolveRatePoints, type RatePoint } from '../../bottleneck/index.js';
import { loadBundle, manifestFromBytes, sha256Hex, type LoadedBundle } from '../../protocol/bundle.js';
import { OfframpError, openBundle, type BundleReader, type EntropyTables } from '../../protocol/index.js';

const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny');
const TABLES_SHA = '8c88a424db237f8451bdca7752aee67562d4f4b1cd9aa51973422afd34128f60';

interface Golden {
  images: number[][];
  latent: number[][];
  exit0Logits: number[][];
  fullLogits: number[][];
  rates: {
    s1: { step: number; symbols: number[][]; payloads: string[]; tailLogits: number[][] };
    u4: { tailLogits: number[][] };
    f16: { tailLogits: number[][] };
  };
}

type Json = Record<string, unknown>;

let tmp: string;
let golden: Golden;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'offramp-bundle-'));
  golden = JSON.parse(await readFile(join(TINY, 'golden.json'), 'utf8')) as Golden;
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh copy of the tiny bundle, optionally with an edited manifest. */
async function copyTiny(name: string, edit?: (m: Json) => void): Promise<string> {
  const dir = join(tmp, name);
  await cp(TINY, dir, { recursive: true });
  if (edit) {
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Json;
    edit(m);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(m));
  }
  return dir;
}

const tinyManifest = async (): Promise<Json> => JSON.parse(await readFile(join(TINY, 'manifest.json'), 'utf8')) as Json;
const json = (m: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(m));
const bottleneck = (m: Json): { ratePoints: Json[]; defaultRatePoint: number; shape: number[] } => m.bottleneck as never;

function expectClose(actual: ArrayLike<number>, expected: readonly number[], atol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `value ${i}`).toBeLessThanOrEqual(atol);
}

describe('loadBundle: the tiny bundle', () => {
  let bundle: LoadedBundle;
  beforeAll(async () => {
    bundle = await loadBundle(TINY);
  });

  it('loads with its three rate points and the entropy tables of the first', async () => {
    expect(bundle.manifest.id).toBe('tiny');
    expect(bundle.manifest.version).toBe('0.2.0');
    expect(bundle.manifestSha256).toBe(sha256Hex(await readFile(join(TINY, 'manifest.json'))));
    expect(bundle.paths).toEqual({ head: join(TINY, 'head.onnx'), tail: join(TINY, 'tail.onnx'), full: join(TINY, 'full.onnx') });
    const points = bundle.manifest.bottleneck.ratePoints;
    expect(points.map((p) => [p.id, p.codec])).toEqual([
      ['s1', 'entropy'],
      ['u4', 'uniform'],
      ['f16', 'float16'],
    ]);
    expect(bundle.manifest.bottleneck.shape).toEqual([2, 7, 7]);
    expect(bundle.manifest.bottleneck.defaultRatePoint).toBe(0);
    expect([...bundle.tables.keys()]).toEqual([0]);
    const tables = bundle.tables.get(0)!;
    expect(tables.precision).toBe(16);
    expect(tables.channels.map((c) => [c.offset, c.cdf.length, c.cdf[0], c.cdf.at(-1)])).toEqual([
      [-7, 15, 0, 65536],
      [-21, 38, 0, 65536],
    ]);
  });

  it('resolves the rate points into codec inputs', () => {
    const [s1, u4, f16] = resolveRatePoints(bundle.manifest, bundle.tables) as [RatePoint, RatePoint, RatePoint];
    if (s1.codec !== 'entropy' || u4.codec !== 'uniform') throw new Error('unexpected codecs');
    expect(s1.step).toBe(1);
    expect(s1.tables.map((t) => t.offset)).toEqual([-7, -21]);
    expect(Array.from(s1.tables[0]!.cdf)).toEqual([0, 1, 2, 3, 4, 6, 22, 968, 61425, 65490, 65530, 65533, 65534, 65535, 65536]);
    expect(u4).toEqual({ codec: 'uniform', bits: 4, min: [-1.143143892288208, -2.4429783821105957], max: [1.4740581512451172, 2.5849783420562744] });
    expect(f16).toEqual({ codec: 'float16' });
  });

  it("reproduces the exporter's outputs through onnxruntime-node, every rate point through the TS codec (atol 1e-4)", async () => {
    const rps = resolveRatePoints(bundle.manifest, bundle.tables);
    const { scale, mean, std } = bundle.manifest.input.normalization;
    const [head, tail, full] = await Promise.all(
      [bundle.paths.head, bundle.paths.tail, bundle.paths.full].map((p) => ort.InferenceSession.create(p, { intraOpNumThreads: 1 })),
    );
    try {
      for (let i = 0; i < golden.images.length; i++) {
        const input = new ort.Tensor(
          'float32',
          Float32Array.from(golden.images[i]!, (v) => (v * scale - mean[0]!) / std[0]!),
          [1, 1, 28, 28],
        );
        const h = await head!.run({ input });
        expectClose(h.latent!.data as Float32Array, golden.latent[i]!, 1e-4);
        expectClose(h.exit0_logits!.data as Float32Array, golden.exit0Logits[i]!, 1e-4);
        expectClose((await full!.run({ input })).logits!.data as Float32Array, golden.fullLogits[i]!, 1e-4);
        // The reference latent through each codec, then the tail, against PyTorch's simulation.
        const latent = Float32Array.from(golden.latent[i]!);
        for (const [k, id] of (['s1', 'u4', 'f16'] as const).entries()) {
          const enc = encodeFeatures(latent, [2, 7, 7], rps[k]!);
          if (id === 's1') expect(Buffer.from(enc.payload).toString('hex')).toBe(golden.rates.s1.payloads[i]);
          const features = decodeFeatures(enc.payload, enc.zstd, [2, 7, 7], rps[k]!);
          const t = await tail!.run({ latent: new ort.Tensor('float32', features, [1, 2, 7, 7]) });
          expectClose(t.logits!.data as Float32Array, golden.rates[id].tailLogits[i]!, 1e-4);
        }
      }
    } finally {
      await Promise.all([head!.release(), tail!.release(), full!.release()]);
    }
  });
});

describe('loadBundle: refusals', () => {
  it('a tampered entropy table file: BUNDLE_HASH_MISMATCH naming the file', async () => {
    const dir = await copyTiny('tampered-table');
    const file = join(dir, 'entropy-s1.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"cdf":[0,1,2,3,4,6,', '"cdf":[0,1,2,3,5,6,'));
    await expect(loadBundle(dir)).rejects.toMatchObject({
      code: 'BUNDLE_HASH_MISMATCH',
      message: expect.stringMatching(new RegExp(`^entropy-s1\\.json: sha256 is [0-9a-f]{64}; the manifest says ${TABLES_SHA}$`)),
    });
  });

  it('a flipped byte in a graph: BUNDLE_HASH_MISMATCH naming the graph', async () => {
    const dir = await copyTiny('flipped');
    const file = join(dir, 'tail.onnx');
    const bytes = await readFile(file);
    bytes[100] = bytes[100]! ^ 0x01;
    await writeFile(file, bytes);
    await expect(loadBundle(dir)).rejects.toMatchObject({
      code: 'BUNDLE_HASH_MISMATCH',
      message: expect.stringMatching(/^tail\.onnx: sha256 is [0-9a-f]{64}; the manifest says [0-9a-f]{64}$/),
    });
  });

  it('a missing table file: BUNDLE_FILE_MISSING', async () => {
    const dir = await copyTiny('missing-table');
    await rm(join(dir, 'entropy-s1.json'));
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_FILE_MISSING', message: expect.stringContaining('entropy-s1.json: ENOENT') });
  });

  it('a table file that is not a tables file (hash updated): BUNDLE_INVALID naming it', async () => {
    const body = JSON.stringify({ precision: 16, channels: [{ offset: 0, cdf: [0] }] });
    const dir = await copyTiny('bad-table', (m) => {
      (bottleneck(m).ratePoints[0]!.tables as Json).sha256 = sha256Hex(new TextEncoder().encode(body));
    });
    await writeFile(join(dir, 'entropy-s1.json'), body);
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_INVALID', message: expect.stringMatching(/^entropy-s1\.json: channels\.0\.cdf: /) });
  });

  it('a manifest without outputs: BUNDLE_INVALID listing it', async () => {
    const dir = await copyTiny('no-outputs', (m) => {
      delete m.outputs;
    });
    await expect(loadBundle(dir)).rejects.toMatchObject({
      code: 'BUNDLE_INVALID',
      message: expect.stringMatching(/does not match the schema:\n {2}outputs: /),
    });
  });

  it('a uniform rate point whose min/max count fits neither the tensor nor the channels: BUNDLE_INVALID', async () => {
    const dir = await copyTiny('uniform-3', (m) => {
      Object.assign(bottleneck(m).ratePoints[1]!, { min: [-1, -1, -1], max: [1, 1, 1] });
    });
    await expect(loadBundle(dir)).rejects.toMatchObject({
      code: 'BUNDLE_INVALID',
      message: expect.stringContaining('\n  bottleneck.ratePoints.1: min and max need 1 or 2 entries'),
    });
  });
});

describe('manifestFromBytes: every problem listed with its path', () => {
  const refused = async (edit: (m: Json) => void, expected: string | RegExp): Promise<void> => {
    const m = await tinyManifest();
    edit(m);
    let err: unknown;
    try {
      manifestFromBytes(json(m));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OfframpError);
    expect((err as OfframpError).code).toBe('BUNDLE_INVALID');
    if (typeof expected === 'string') expect((err as OfframpError).message).toContain(expected);
    else expect((err as OfframpError).message).toMatch(expected);
  };

  it('accepts the tiny manifest as it is', async () => {
    expect(manifestFromBytes(json(await tinyManifest())).id).toBe('tiny');
  });

  it('uniform: min and max of different lengths, or a min not below its max', async () => {
    await refused((m) => Object.assign(bottleneck(m).ratePoints[1]!, { min: [-1, -1], max: [1] }), 'bottleneck.ratePoints.1: min and max need 1 or 2 entries');
    await refused((m) => Object.assign(bottleneck(m).ratePoints[1]!, { min: [1], max: [1] }), 'bottleneck.ratePoints.1: every min must be below its max');
    // One entry for the whole tensor is fine.
    const m = await tinyManifest();
    Object.assign(bottleneck(m).ratePoints[1]!, { min: [-3], max: [3] });
    expect(manifestFromBytes(json(m)).bottleneck.ratePoints[1]).toMatchObject({ min: [-3], max: [3] });
  });

  it('defaultRatePoint out of range', async () => {
    await refused((m) => {
      bottleneck(m).defaultRatePoint = 3;
    }, 'bottleneck.defaultRatePoint: 3 is not a rate point');
    await refused((m) => {
      bottleneck(m).defaultRatePoint = -1;
    }, /\n {2}bottleneck\.defaultRatePoint: /);
  });

  it('duplicate rate point ids', async () => {
    await refused((m) => {
      bottleneck(m).ratePoints[2]!.id = 's1';
    }, 'bottleneck.ratePoints.2: id s1 is used twice');
  });

  it('schema: bits outside 1..8, a step of 0, an unknown codec, an unknown key, the v1 schema version', async () => {
    await refused((m) => {
      bottleneck(m).ratePoints[1]!.bits = 9;
    }, /\n {2}bottleneck\.ratePoints\.1\.bits: /);
    await refused((m) => {
      bottleneck(m).ratePoints[0]!.step = 0;
    }, /\n {2}bottleneck\.ratePoints\.0\.step: /);
    await refused((m) => {
      bottleneck(m).ratePoints[2]!.codec = 'bfloat16';
    }, /\n {2}bottleneck\.ratePoints\.2(\.codec)?: /);
    await refused((m) => {
      m.extra = true;
    }, /\n {2}\(root\): Unrecognized key: "extra"/);
    await refused((m) => {
      m.schemaVersion = 1;
    }, /\n {2}schemaVersion: /);
    await refused((m) => {
      bottleneck(m).ratePoints = [];
    }, /\n {2}bottleneck\.ratePoints: /);
  });

  it('bytes that are not JSON', () => {
    expect(() => manifestFromBytes(new TextEncoder().encode('{"id": '))).toThrow(
      expect.objectContaining({ code: 'BUNDLE_INVALID', message: expect.stringMatching(/^manifest\.json is not valid JSON: /) }),
    );
  });
});

describe('rate points from tables', () => {
  const shape = [2, 7, 7];
  const spec = { id: 's1', codec: 'entropy' as const, step: 1, tables: { file: 'entropy-s1.json', sha256: TABLES_SHA } };
  const good: EntropyTables = {
    precision: 16,
    channels: [
      { offset: 0, cdf: [0, 65536] },
      { offset: -1, cdf: [0, 100, 65536] },
    ],
  };

  it('refuses malformed CDF tables with BUNDLE_INVALID naming file and channel', () => {
    const bad = (cdf: number[]): EntropyTables => ({ precision: 16, channels: [good.channels[0]!, { offset: 0, cdf }] });
    expect(() => cdfTables(bad([0, 5, 5, 65536]), 'entropy-s1.json')).toThrow(
      expect.objectContaining({ code: 'BUNDLE_INVALID', message: 'entropy-s1.json: channel 1: cdf must increase strictly (entry 2)' }),
    );
    expect(() => cdfTables(bad([0, 65535]), 'entropy-s1.json')).toThrow(
      expect.objectContaining({ message: 'entropy-s1.json: channel 1: cdf must end at 65536, not 65535' }),
    );
    expect(() => cdfTables(bad([1, 65536]), 'entropy-s1.json')).toThrow(
      expect.objectContaining({ message: 'entropy-s1.json: channel 1: cdf must start at 0, not 1' }),
    );
  });

  it("refuses tables whose channel count is not the bottleneck's, and a missing tables file", () => {
    expect(() => resolveRatePoint(spec, shape, { precision: 16, channels: [good.channels[0]!] })).toThrow(
      expect.objectContaining({ code: 'BUNDLE_INVALID', message: 'rate point s1: 1 tables for 2 channels' }),
    );
    expect(() => resolveRatePoint(spec, shape, undefined)).toThrow(
      expect.objectContaining({ code: 'BUNDLE_FILE_MISSING', message: 'rate point s1: its tables (entropy-s1.json) were not read' }),
    );
    expect(resolveRatePoint(spec, shape, good)).toEqual({
      codec: 'entropy',
      step: 1,
      tables: [
        { offset: 0, cdf: Uint32Array.from([0, 65536]) },
        { offset: -1, cdf: Uint32Array.from([0, 100, 65536]) },
      ],
    });
  });
});

describe('openBundle: from any reader', () => {
  let files: Map<string, Uint8Array>;
  beforeAll(async () => {
    files = new Map();
    for (const name of await readdir(TINY)) files.set(name, new Uint8Array(await readFile(join(TINY, name))));
  });

  const reader =
    (store: Map<string, Uint8Array>, log: string[] = []): BundleReader =>
    async (name) => {
      log.push(name);
      const b = store.get(name);
      if (!b) throw new OfframpError('BUNDLE_FILE_MISSING', `${name}: not in memory`);
      return Promise.resolve(b);
    };

  it('opens the tiny bundle held in memory, reading only the graphs asked for', async () => {
    const read: string[] = [];
    const opened = await openBundle(reader(files, read), ['tail']);
    expect(opened.manifest.id).toBe('tiny');
    expect(opened.manifestSha256).toBe(sha256Hex(files.get('manifest.json')!));
    expect(Object.keys(opened.graphs)).toEqual(['tail']);
    expect(opened.graphs.tail).toEqual(files.get('tail.onnx'));
    expect(opened.tables.get(0)!.channels.length).toBe(2);
    expect(read.sort()).toEqual(['entropy-s1.json', 'manifest.json', 'tail.onnx']);
  });

  it('verifies what it reads: a tampered table in memory is BUNDLE_HASH_MISMATCH', async () => {
    const store = new Map(files);
    const tables = Uint8Array.from(files.get('entropy-s1.json')!);
    tables[tables.length - 3] = tables[tables.length - 3]! ^ 1;
    store.set('entropy-s1.json', tables);
    await expect(openBundle(reader(store), [])).rejects.toMatchObject({
      code: 'BUNDLE_HASH_MISMATCH',
      message: expect.stringMatching(/^entropy-s1\.json: sha256 is /),
    });
  });

  it("passes on the reader's errors, and names where the manifest came from", async () => {
    const store = new Map(files);
    store.delete('head.onnx');
    await expect(openBundle(reader(store), ['head'])).rejects.toMatchObject({ code: 'BUNDLE_FILE_MISSING', message: 'head.onnx: not in memory' });
    store.set('manifest.json', new TextEncoder().encode('[]'));
    await expect(openBundle(reader(store), [], 'https://edge/tiny/manifest.json')).rejects.toMatchObject({
      code: 'BUNDLE_INVALID',
      message: expect.stringMatching(/^https:\/\/edge\/tiny\/manifest\.json does not match the schema:/),
    });
  });
});
