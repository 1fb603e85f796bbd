/**
 * docs/PROTOCOL.md §5 and §7: what an answer carries, checked against the PyTorch numbers in
 * test/fixtures/tiny/golden.json: split requests at every rate point (s1 entropy, u4 uniform,
 * f16), full offload in every input encoding, output tensors in fp32, fp16 and int8.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeOutput, encodeInput, loadZstdWasm, topK, type ZstdBackend } from '../../bottleneck/index.js';
import { jpegJs } from '../../bottleneck/jpeg.js';
import type { LoadedBundle } from '../../protocol/bundle.js';
import { argmax, encodeFrame, pb, softmax, WANT, type Answer } from '../../protocol/index.js';
import type { EdgeServer } from '../../tail/index.js';
import { answerOf, connect, edges, errorOf, fullRequest, loadBundle, splitRequest, TINY, tinyGolden, type Golden } from './client.js';

let bundle: LoadedBundle;
let golden: Golden;
let zstd: ZstdBackend;
let server: EdgeServer;
const pool = edges();
const RATES = ['s1', 'u4', 'f16'] as const;
const ATOL = 1e-4;

beforeAll(async () => {
  [bundle, golden, zstd] = await Promise.all([loadBundle(TINY), tinyGolden(), loadZstdWasm()]);
  server = await pool.start();
});
afterAll(() => pool.closeAll());

/** The class fields an answer must carry for these logits (§5). */
function expectedClass(logits: readonly number[]): { label: number; confidence: number } {
  const p = softmax(logits);
  const label = argmax(p);
  return { label, confidence: Math.round(255 * p[label]!) };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number | ((i: number) => number), what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = typeof atol === 'number' ? atol : atol(i);
    expect(Math.abs(actual[i]! - expected[i]!), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tol);
  }
}

/** The answer's one output tensor (the logits), decoded. */
function logitsOf(a: Answer): Float32Array {
  expect(a.outputs).toHaveLength(1);
  expect(a.outputs[0]).toMatchObject({ name: 'logits', dtype: pb.DataType.FP32, shape: [10] });
  return decodeOutput(a.outputs[0]!, zstd).data as Float32Array;
}

/** IEEE 754 binary16 round-to-nearest-even of `x` (an independent reading of §5.2). */
function toHalf(x: number): number {
  const a = Math.abs(x);
  if (a === 0) return x;
  const e = Math.max(-14, Math.floor(Math.log2(a)));
  const ulp = 2 ** (e - 10);
  let q = Math.floor(a / ulp);
  const rest = a / ulp - q;
  if (rest > 0.5 || (rest === 0.5 && q % 2 === 1)) q++;
  const v = q * ulp;
  return Math.sign(x) * (v >= 65520 ? Infinity : v);
}

describe('split answers (§5)', () => {
  for (const [rate, name] of RATES.entries()) {
    it(`answers label = argmax and confidence = round(255 p) of the tail logits at ${name}, and the logits themselves (atol ${ATOL})`, async () => {
      const { c } = await connect(server.url, bundle);
      for (let i = 0; i < golden.latent.length; i++) {
        const expected = golden.rates[name].tailLogits[i]!;
        const bare = answerOf(await c.call(splitRequest(bundle, 2 * i + 1, golden.latent[i]!, rate)));
        expect(bare).toEqual({ id: 2 * i + 1, ...expectedClass(expected), topLabels: [], scores: [], timings: null, outputs: [] });
        const full = answerOf(await c.call(splitRequest(bundle, 2 * i + 2, golden.latent[i]!, rate, { want: WANT.outputs })));
        expectClose(logitsOf(full), expected, ATOL, `${name} sample ${i}`);
        expect(full.outputs[0]).toMatchObject({ encoding: pb.OutputEncoding.OUTPUT_FP32, zstd: false });
      }
      c.close();
    });
  }

  it('WANT_SCORES: the softmax of every label in label order', async () => {
    const { c } = await connect(server.url, bundle);
    const a = answerOf(await c.call(splitRequest(bundle, 1, golden.latent[1]!, 0, { want: WANT.scores })));
    expectClose(a.scores, softmax(golden.rates.s1.tailLogits[1]!), ATOL, 'scores');
    expect(a.topLabels).toEqual([]);
    c.close();
  });

  it('top_k: the k best labels, best first, top_labels[0] == label; with WANT_SCORES their probabilities in that order', async () => {
    const { c } = await connect(server.url, bundle);
    const p = softmax(golden.rates.u4.tailLogits[0]!);
    const a = answerOf(await c.call(splitRequest(bundle, 1, golden.latent[0]!, 1, { topK: 3 })));
    expect(a.topLabels).toEqual(topK(p, 3));
    expect(a.topLabels[0]).toBe(a.label);
    expect(a.scores).toEqual([]);
    const b = answerOf(await c.call(splitRequest(bundle, 2, golden.latent[0]!, 1, { topK: 3, want: WANT.scores })));
    expect(b.topLabels).toEqual(a.topLabels);
    expectClose(
      b.scores,
      a.topLabels.map((l) => p[l]!),
      ATOL,
      'top scores',
    );
    // More than the labels there are: all of them.
    expect(answerOf(await c.call(splitRequest(bundle, 3, golden.latent[0]!, 1, { topK: 20 }))).topLabels).toEqual(topK(p, 10));
    c.close();
  });

  it('WANT_TIMINGS: queue, decode and compute times and the batch size', async () => {
    const { c } = await connect(server.url, bundle);
    const t = answerOf(await c.call(splitRequest(bundle, 1, golden.latent[0]!, 0, { want: WANT.timings }))).timings;
    expect(t).not.toBeNull();
    expect(t!.batchSize).toBe(1);
    expect(t!.computeUs).toBeGreaterThan(0);
    expect(t!.decodeUs).toBeGreaterThan(0);
    // The batcher waits up to maxQueueDelayUs (2 ms) for a batch to fill.
    expect(t!.queueUs).toBeGreaterThan(0);
    c.close();
  });

  it('answers split requests with zstd-wrapped payloads (u4, f16) like plain ones', async () => {
    const { c } = await connect(server.url, bundle, { zstd: true });
    for (const rate of [1, 2]) {
      const r = splitRequest(bundle, rate, new Float32Array(98), rate, { want: WANT.outputs }, zstd);
      expect(r.zstd).toBe(true);
      const plain = answerOf(await c.call(splitRequest(bundle, 10 + rate, new Float32Array(98), rate, { want: WANT.outputs })));
      expect(logitsOf(answerOf(await c.call(r)))).toEqual(logitsOf(plain));
    }
    c.close();
  });
});

describe('a class answer as the §5 example', () => {
  it('is 9 bytes for id 1, label 7, confidence 242: 22 07 08 01 10 07 18 f2 01; label 0 is omitted', () => {
    expect(Buffer.from(encodeFrame({ type: 'answer', answer: { id: 1, label: 7, confidence: 242 } })).toString('hex')).toBe('220708011007' + '18f201');
    expect(Buffer.from(encodeFrame({ type: 'answer', answer: { id: 1, label: 0, confidence: 242 } })).toString('hex')).toBe('2205080118f201');
    expect(encodeFrame({ type: 'answer', answer: { id: 128, label: 7, confidence: 242 } })).toHaveLength(10);
  });
});

describe('output tensors (§5.2)', () => {
  /** The logits of sample 1 at f16, as fp32 from the edge. */
  let reference: Float32Array;
  beforeAll(async () => {
    const { c } = await connect(server.url, bundle);
    reference = logitsOf(answerOf(await c.call(splitRequest(bundle, 1, golden.latent[1]!, 2, { want: WANT.outputs }))));
    c.close();
    expectClose(reference, golden.rates.f16.tailLogits[1]!, ATOL, 'fp32');
  });

  it('OUTPUT_FP16: binary16 little-endian, round to nearest even', async () => {
    const { c } = await connect(server.url, bundle, { outputEncoding: pb.OutputEncoding.OUTPUT_FP16 });
    const a = answerOf(await c.call(splitRequest(bundle, 1, golden.latent[1]!, 2, { want: WANT.outputs })));
    expect(a.outputs[0]).toMatchObject({ encoding: pb.OutputEncoding.OUTPUT_FP16, scale: 0, zeroPoint: 0, zstd: false });
    expect(a.outputs[0]!.data.length).toBe(20);
    const got = logitsOf(a);
    expect(Array.from(got)).toEqual(Array.from(reference, toHalf));
    // Against PyTorch: within half a binary16 step (2^-11 relative) plus the tolerance.
    const expected = golden.rates.f16.tailLogits[1]!;
    expectClose(got, expected, (i) => Math.abs(expected[i]!) * 2 ** -11 + ATOL, 'fp16');
    c.close();
  });

  it('OUTPUT_INT8: q = clamp(floor(v / scale + zero_point + 0.5)), scale = (max − min) / 255, zero_point = −min / scale', async () => {
    const { c } = await connect(server.url, bundle, { outputEncoding: pb.OutputEncoding.OUTPUT_INT8 });
    const a = answerOf(await c.call(splitRequest(bundle, 1, golden.latent[1]!, 2, { want: WANT.outputs })));
    const min = Math.min(...reference);
    const max = Math.max(...reference);
    const scale = Math.fround((max - min) / 255);
    const zeroPoint = Math.fround(-min / scale);
    const q = Array.from(reference, (v) => Math.max(0, Math.min(255, Math.floor(v / scale + zeroPoint + 0.5))));
    expect(a.outputs[0]).toMatchObject({ encoding: pb.OutputEncoding.OUTPUT_INT8, scale, zeroPoint, zstd: false });
    expect(Array.from(a.outputs[0]!.data)).toEqual(q);
    expectClose(logitsOf(a), golden.rates.f16.tailLogits[1]!, scale / 2 + ATOL, 'int8');
    c.close();
  });
});

describe('full offload (§7)', () => {
  let full: ort.InferenceSession;
  beforeAll(async () => {
    full = await ort.InferenceSession.create(bundle.paths.full);
  });
  afterAll(() => full.release());

  /** full.onnx's logits for a raw uint8 image (normalisation: x / 255). */
  async function fullLogits(raw: Uint8Array): Promise<Float32Array> {
    const x = Float32Array.from(raw, (v) => v * bundle.manifest.input.normalization.scale);
    const out = await full.run({ input: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
    return out.logits!.data as Float32Array;
  }

  /** §7's downsample, read independently: block means, q = floor(avg·(2^b−1)/255 + 0.5), rebuilt as floor(q·255/(2^b−1) + 0.5). */
  function downsampled(img: readonly number[], f: number, bits: number): Uint8Array {
    const levels = 2 ** bits - 1;
    const out = new Uint8Array(784);
    for (let by = 0; by < 28; by += f) {
      for (let bx = 0; bx < 28; bx += f) {
        let sum = 0;
        let n = 0;
        for (let y = by; y < Math.min(28, by + f); y++) for (let x = bx; x < Math.min(28, bx + f); x++, n++) sum += img[y * 28 + x]!;
        const v = Math.floor((Math.floor(((sum / n) * levels) / 255 + 0.5) * 255) / levels + 0.5);
        for (let y = by; y < Math.min(28, by + f); y++) for (let x = bx; x < Math.min(28, bx + f); x++) out[y * 28 + x] = v;
      }
    }
    return out;
  }

  const inputEncodings = [
    { codec: pb.InputCodec.INPUT_RAW },
    { codec: pb.InputCodec.INPUT_DOWNSAMPLE, factor: 2, bits: 4 },
    { codec: pb.InputCodec.INPUT_DOWNSAMPLE, factor: 3, bits: 3 },
    { codec: pb.InputCodec.INPUT_JPEG, quality: 50 },
  ];

  it('INPUT_RAW, plain and zstd-wrapped: the logits full.onnx gives (golden fullLogits, atol 1e-4)', async () => {
    const { c } = await connect(server.url, bundle, { zstd: true, inputEncodings });
    for (let i = 0; i < golden.images.length; i++) {
      const expected = golden.fullLogits[i]!;
      const plain = answerOf(await c.call(fullRequest(bundle, 1, golden.images[i]!, 0, { codec: 'raw' }, { want: WANT.outputs })));
      expect({ label: plain.label, confidence: plain.confidence }).toEqual(expectedClass(expected));
      expectClose(logitsOf(plain), expected, ATOL, `raw ${i}`);
      const wrapped = fullRequest(bundle, 2, golden.images[i]!, 0, { codec: 'raw' }, { want: WANT.outputs }, { zstd, zstdMinBytes: 1 });
      expect(wrapped.zstd).toBe(true);
      expectClose(logitsOf(answerOf(await c.call(wrapped))), expected, ATOL, `raw+zstd ${i}`);
    }
    c.close();
  });

  it('INPUT_DOWNSAMPLE: the edge rebuilds each block as §7 says, then runs full.onnx', async () => {
    const { c } = await connect(server.url, bundle, { inputEncodings });
    for (const [rate, f, bits] of [
      [1, 2, 4],
      [2, 3, 3],
    ] as const) {
      for (let i = 0; i < golden.images.length; i++) {
        const r = fullRequest(bundle, 1, golden.images[i]!, rate, { codec: 'downsample', factor: f, bits }, { want: WANT.outputs });
        expect(r.payload!.length).toBe(Math.ceil((Math.ceil(28 / f) ** 2 * bits) / 8));
        expectClose(logitsOf(answerOf(await c.call(r))), await fullLogits(downsampled(golden.images[i]!, f, bits)), ATOL, `downsample ${f}/${bits} image ${i}`);
      }
    }
    c.close();
  });

  it('INPUT_JPEG: the edge decodes the scan with the header for that size and quality', async () => {
    const { c } = await connect(server.url, bundle, { inputEncodings });
    for (let i = 0; i < golden.images.length; i++) {
      const img = Uint8Array.from(golden.images[i]!);
      const scan = encodeInput(img, [28, 28], { codec: 'jpeg', quality: 50 }, { jpeg: jpegJs }).payload;
      const seen = jpegJs.decodeScan(scan, [28, 28], 50);
      const a = answerOf(await c.call({ id: 1, graph: pb.Graph.GRAPH_FULL, rate: 3, payload: scan, want: WANT.outputs }));
      expectClose(logitsOf(a), await fullLogits(seen), ATOL, `jpeg image ${i}`);
    }
    expect(errorOf(await c.call({ id: 2, graph: pb.Graph.GRAPH_FULL, rate: 3, payload: Uint8Array.of(1, 2, 3) }))).toMatchObject({ id: 2 });
    c.close();
  });
});

describe('non-finite outputs (§5.2)', () => {
  it('ends the request INTERNAL when the tail answers NaN, and the edge stays up', async () => {
    // A copy of the tiny bundle whose tail returns NaN logits (test/fixtures/make_nan_tail.py; its input is named "features").
    const models = await mkdtemp(join(tmpdir(), 'offramp-nan-'));
    try {
      const dir = join(models, 'tiny');
      await cp(TINY, dir, { recursive: true });
      await cp(join(TINY, '..', 'nan-tail.onnx'), join(dir, 'tail.onnx'));
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
        bottleneck: { tailInput: string };
        graphs: { tail: { sha256: string; inputs: { name: string }[] } };
      };
      manifest.bottleneck.tailInput = 'features';
      manifest.graphs.tail.inputs[0]!.name = 'features';
      manifest.graphs.tail.sha256 = createHash('sha256')
        .update(await readFile(join(dir, 'tail.onnx')))
        .digest('hex');
      await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
      const broken = await loadBundle(dir);
      const s = await pool.start({ models });
      const { c } = await connect(s.url, broken);
      expect(errorOf(await c.call(splitRequest(broken, 1, golden.latent[0]!, 0)))).toMatchObject({
        id: 1,
        name: 'INTERNAL',
        message: 'the class logits of logits are not finite',
      });
      expect(errorOf(await c.call(splitRequest(broken, 2, golden.latent[0]!, 0, { want: WANT.outputs })))).toMatchObject({ id: 2, name: 'INTERNAL' });
      expect(answerOf(await c.call(fullRequest(broken, 3, golden.images[0]!)))).toMatchObject({ id: 3, ...expectedClass(golden.fullLogits[0]!) });
      c.close();
    } finally {
      await rm(models, { recursive: true, force: true });
    }
  });
});
