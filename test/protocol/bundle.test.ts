import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFeatures, encodeFeatures } from '../../bottleneck/index.js';
import { loadBundle, manifestFromBytes, sha256Hex, type LoadedBundle } from '../../protocol/index.js';

const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny');

interface Golden {
  images: number[][];
  labels: number[];
  features: number[][];
  exit0Logits: number[][];
  tailLogits: number[][];
  fullLogits: number[][];
  splitLogitsByBits: Record<string, number[][]>;
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'offramp-bundle-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh copy of the tiny bundle, optionally with an edited manifest. */
async function copyTiny(name: string, edit?: (m: Record<string, unknown>) => void): Promise<string> {
  const dir = join(tmp, name);
  await cp(TINY, dir, { recursive: true });
  if (edit) {
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    edit(m);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(m));
  }
  return dir;
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], atol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(atol);
}

describe('loadBundle', () => {
  let bundle: LoadedBundle;
  beforeAll(async () => {
    bundle = await loadBundle(TINY);
  });

  it('loads the tiny bundle and hashes its manifest', async () => {
    expect(bundle.manifest.id).toBe('tiny');
    expect(bundle.manifestSha256).toBe(sha256Hex(await readFile(join(TINY, 'manifest.json'))));
    expect(bundle.paths.tail).toBe(join(TINY, 'tail.onnx'));
  });

  it("reproduces the exporter's golden outputs through onnxruntime-node (atol 1e-4)", async () => {
    const golden = JSON.parse(await readFile(join(TINY, 'golden.json'), 'utf8')) as Golden;
    const { normalization } = bundle.manifest.input;
    const head = await ort.InferenceSession.create(bundle.paths.head);
    const tail = await ort.InferenceSession.create(bundle.paths.tail);
    const full = await ort.InferenceSession.create(bundle.paths.full);
    try {
      for (let i = 0; i < golden.images.length; i++) {
        const x = Float32Array.from(golden.images[i]!, (v) => (v * normalization.scale - normalization.mean[0]!) / normalization.std[0]!);
        const input = new ort.Tensor('float32', x, [1, 1, 28, 28]);
        const h = await head.run({ input });
        expectClose(h.features!.data as Float32Array, golden.features[i]!);
        expectClose(h.exit0_logits!.data as Float32Array, golden.exit0Logits[i]!);
        const f = await full.run({ input });
        expectClose(f.logits!.data as Float32Array, golden.fullLogits[i]!);
        const features = h.features!.data as Float32Array;
        const t = await tail.run({ features: new ort.Tensor('float32', features, [1, 2, 7, 7]) });
        expectClose(t.logits!.data as Float32Array, golden.tailLogits[i]!);
        // The split at each bit width: TS codec round trip, then the tail, against PyTorch's
        // simulated quantization.
        for (const bits of bundle.manifest.bottleneck.bits) {
          const enc = encodeFeatures(features, { shape: [1, 2, 7, 7], bits, range: bundle.manifest.bottleneck.range, codec: 'none' });
          expect(enc.bytes.length).toBeLessThanOrEqual(bundle.manifest.bottleneck.payloadBytes![String(bits)]!);
          const deq = decodeFeatures(enc.bytes, enc.meta);
          const q = await tail.run({ features: new ort.Tensor('float32', deq, [1, 2, 7, 7]) });
          expectClose(q.logits!.data as Float32Array, golden.splitLogitsByBits[String(bits)]![i]!);
        }
      }
    } finally {
      await Promise.all([head.release(), tail.release(), full.release()]);
    }
  });

  it('refuses a bundle with one flipped byte in a graph file', async () => {
    const dir = await copyTiny('flipped');
    const file = join(dir, 'tail.onnx');
    const bytes = await readFile(file);
    bytes[100] = bytes[100]! ^ 0x01;
    await writeFile(file, bytes);
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_HASH_MISMATCH', message: expect.stringMatching(/tail\.onnx: sha256 is [0-9a-f]{64}; the manifest says [0-9a-f]{64}$/) });
  });

  it('refuses a missing file', async () => {
    const dir = await copyTiny('missing');
    await rm(join(dir, 'full.onnx'));
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_FILE_MISSING', message: expect.stringContaining('full.onnx: ENOENT') });
  });

  it('refuses a manifest whose ports do not match the ONNX graph, naming the mismatch', async () => {
    const dir = await copyTiny('renamed', (m) => {
      const graphs = m.graphs as { tail: { outputs: { name: string }[] } };
      graphs.tail.outputs[0]!.name = 'scores';
    });
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_GRAPH_MISMATCH', message: expect.stringContaining('tail.onnx outputs are [logits]; the manifest says [scores]') });
    const shaped = await copyTiny('shaped', (m) => {
      const graphs = m.graphs as { head: { outputs: { shape: number[] }[] } };
      const bn = m.bottleneck as { shape: number[] };
      graphs.head.outputs[0]!.shape = [-1, 2, 7, 8];
      bn.shape = [2, 7, 8];
      (m.graphs as { tail: { inputs: { shape: number[] }[] } }).tail.inputs[0]!.shape = [-1, 2, 7, 8];
    });
    await expect(loadBundle(shaped)).rejects.toMatchObject({ code: 'BUNDLE_GRAPH_MISMATCH', message: expect.stringContaining('features has shape [batch, 2, 7, 7]; the manifest says [-1, 2, 7, 8]') });
  });
});

describe('manifestFromBytes', () => {
  const good = async (): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(TINY, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  const bytes = (m: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(m));

  it('refuses bytes that are not JSON', () => {
    expect(() => manifestFromBytes(new TextEncoder().encode('{"id": '))).toThrow(expect.objectContaining({ code: 'BUNDLE_INVALID', message: expect.stringMatching(/^manifest.json is not valid JSON: /) }));
  });

  it('lists every schema problem with its path', async () => {
    const m = await good();
    m.schemaVersion = 2;
    (m.bottleneck as { bits: number[] }).bits = [9];
    m.extra = true;
    expect(() => manifestFromBytes(bytes(m))).toThrow(
      expect.objectContaining({ code: 'BUNDLE_INVALID', message: expect.stringMatching(/schemaVersion: .*\n {2}bottleneck\.bits\.0: .*\n {2}\(root\): Unrecognized key: "extra"/s) }),
    );
  });

  it('refuses an inconsistent manifest (exit not a head output, threshold not in table)', async () => {
    const m = await good();
    const exits = m.exits as { output: string; recommendedThreshold: number }[];
    exits[0]!.output = 'nope';
    exits[0]!.recommendedThreshold = 0.55;
    expect(() => manifestFromBytes(bytes(m))).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/graphs\.head: has no port named "nope".*exits\.0\.recommendedThreshold: not a row of the table/s) }),
    );
  });

  it('requires accuracy figures unless the bundle is timing-only', async () => {
    const m = await good();
    delete m.accuracy;
    expect(() => manifestFromBytes(bytes(m))).toThrow(/accuracy: required unless timingOnly/);
    m.timingOnly = true;
    expect(manifestFromBytes(bytes(m)).timingOnly).toBe(true);
  });
});
